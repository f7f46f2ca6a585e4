"""What a sync or ingest pass tells its caller: each video's result, the pass as a whole, and progress hooks."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.corpus.sources.video_ref import VideoRef
from pipelines.freshness.ledger import SATISFIED, WORK_STAGES, StageRecord


class Progress:
    """What a progress display is told while the engine works; this base shows nothing."""

    def begin(self, total: int) -> None:
        """A pass is about to work on ``total`` videos."""

    def video_started(self, ref: VideoRef) -> None:
        """Work on one video begins."""

    def stage(self, ref: VideoRef, stage: str) -> None:
        """One of ``WORK_STAGES`` is about to run (or be found current) for this video."""

    def video_done(self, ref: VideoRef, outcome: VideoResult) -> None:
        """The video is finished, failed or left waiting."""

    def end(self) -> None:
        """The pass is over."""


@dataclass
class VideoResult:
    """What one pass did with one video.

    ``status``: unchanged | indexed | failed | waiting. ``change`` says what the index stage did when
    it ran (added, updated, or unchanged when the store already held these documents); ``chunks``
    counts the chunk documents it indexed. ``path`` and ``warnings`` are filled in for local files.
    """

    video_id: str
    status: str
    reason: str = ""
    stages_run: list[str] = field(default_factory=list)
    failed_stage: str = ""
    change: str = ""
    chunks: int = 0
    path: str = ""
    warnings: list[str] = field(default_factory=list)

    def describe(self) -> str:
        """Why a video failed or waits, naming the stage: the line ``sync`` prints."""
        return f"{self.failed_stage}: {self.reason}" if self.failed_stage else self.reason

    def name_files(self, ref: VideoRef, records: dict[str, StageRecord]) -> None:
        """Set ``path`` to the file this result is about and ``warnings`` to those its finished stages recorded.

        The file is the transcript the transcript stage read, else the first transcript, else the
        media, so ``course-ta ingest`` names a file on every line, also for videos already current.
        """
        transcript = records.get("transcript")
        used = ""
        if transcript is not None and transcript.status in SATISFIED and (transcript.detail or "").startswith("file:"):
            used = (transcript.detail or "").rsplit(" (", 1)[0].removeprefix("file:")
        paths = list(ref.transcript_paths)
        self.path = next((p for p in paths if Path(p).name == used), paths[0] if paths else ref.media_path or "")
        self.warnings = [
            warning
            for stage in WORK_STAGES
            if stage in records and records[stage].status in SATISFIED
            for warning in records[stage].warnings
        ]


@dataclass
class SyncReport:
    """One pass: what was listed, what happened to each video, and what was removed as gone."""

    listed: int = 0
    new_or_changed: int = 0
    results: list[VideoResult] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    source_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """How many videos ended in ``status``."""
        return sum(1 for r in self.results if r.status == status)
