"""``course-ta ingest``'s report over the one engine: transcript files and folders into the index.

Ingesting is a sync of one-shot local sources (``SyncRunner.ingest``): the same stages, ledger,
save policy and resume after a crash as ``course-ta sync``, with transcript files only (media
without one is reported, not transcribed). This module keeps the ingest vocabulary callers rely
on: each video ``added``, ``updated``, ``unchanged`` or ``failed``, and how many chunks were embedded.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.freshness.engine import SyncRunner
from pipelines.freshness.reports import Progress, SyncReport, VideoResult
from pipelines.settings import Settings
from pipelines.stores.document_store import StoreBundle, open_store


@dataclass
class VideoOutcome:
    """One video (or one unusable path) of an ingest: status added | updated | unchanged | failed."""

    video_id: str
    path: Path | None
    status: str
    chunks: int = 0
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """Every outcome in discovery order, warnings about the input, videos removed as gone, and the time taken."""

    outcomes: list[VideoOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        """How many videos ended in ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks_added(self) -> int:
        """Chunk documents embedded by this run."""
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))

    @property
    def succeeded(self) -> bool:
        """False only when nothing at all could be ingested (the CLI's non-zero exit)."""
        return any(o.status != "failed" for o in self.outcomes)

    @classmethod
    def of(cls, report: SyncReport) -> IngestReport:
        """The engine's report in ingest terms."""
        return cls(
            outcomes=[_outcome(result) for result in report.results],
            warnings=list(report.warnings),
            removed=list(report.removed),
            seconds=report.seconds,
        )


def _outcome(result: VideoResult) -> VideoOutcome:
    path = Path(result.path) if result.path else None
    if result.status in ("failed", "waiting"):  # waiting: the run was stopped before this video
        return VideoOutcome(result.video_id, path, "failed", reason=result.reason, warnings=result.warnings)
    status = result.change if result.status == "indexed" and result.change else "unchanged"
    return VideoOutcome(result.video_id, path, status, chunks=result.chunks, warnings=result.warnings)


class Ingestor:
    """``Ingestor(settings).ingest(paths)``: the engine in ingest mode, sharing ``bundle`` with the caller.

    ``rebuild=True`` opens the index empty (it may be damaged) for ``rebuild()``, which indexes every
    video the ledger knows again from the data dir; ``ingest`` may follow on the same Ingestor.
    """

    def __init__(self, settings: Settings, bundle: StoreBundle | None = None, rebuild: bool = False) -> None:
        self.settings = settings
        self.bundle = bundle or open_store(settings, rebuild=rebuild)
        self.engine = SyncRunner(settings, bundle=self.bundle, transcribe_media=False)

    @property
    def saved_videos(self) -> int:
        """Videos whose documents were saved and marked indexed so far (what an interrupted run kept)."""
        return self.engine.saves.saved_videos

    def ingest(self, paths: Iterable[Path], manifest: Path | None = None, progress: Progress | None = None) -> IngestReport:
        """Index the given transcript files and folders; a broken file costs only its own video."""
        self.engine.progress = progress or Progress()
        return IngestReport.of(self.engine.ingest(list(paths), manifest))

    def rebuild(self, progress: Progress | None = None) -> IngestReport:
        """Recreate the index from the ledger and the data dir (see ``SyncRunner.rebuild``)."""
        self.engine.progress = progress or Progress()
        return IngestReport.of(self.engine.rebuild())
