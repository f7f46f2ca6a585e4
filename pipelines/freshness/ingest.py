"""``course-ta ingest``: transcript files and folders into the index, one video at a time.

Each video is read, split into timed sentences, chunked and indexed on its own, so a broken file
costs only that video. The embedded store is saved every few videos and at the end; because
document ids are content hashes, a run that crashed half-way is finished by running it again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.corpus.chunking import chunk_documents
from pipelines.corpus.manifest import Manifest, ManifestError, read_manifest
from pipelines.corpus.sentences import segments_to_sentences
from pipelines.corpus.transcripts import TRANSCRIPT_SUFFIXES, Transcript, TranscriptError, read_transcript
from pipelines.domain import Sentence, Video, local_url
from pipelines.settings import Settings
from pipelines.stores.document_store import StoreBundle, open_store
from pipelines.stores.indexing import Indexer

logger = logging.getLogger(__name__)

MEDIA_SUFFIXES = (".mp4", ".mkv", ".webm", ".mp3", ".m4a", ".wav", ".ogg")
# Richest timing first: Whisper/sentence JSON, then caption formats, then plain text.
_PREFERENCE = {".json": 0, ".srt": 1, ".vtt": 2, ".txt": 3}
SAVE_EVERY_VIDEOS = 25
SAVE_EVERY_SECONDS = 60.0


def video_id_of(path: Path) -> str:
    """``abc123.srt`` and ``abc123.sentence_timings.json`` both belong to video ``abc123``."""
    return path.name.split(".", 1)[0]


@dataclass
class VideoFiles:
    video_id: str
    folder: Path
    transcripts: list[Path] = field(default_factory=list)
    media: list[Path] = field(default_factory=list)


@dataclass
class VideoOutcome:
    video_id: str
    path: Path | None
    status: str  # added | updated | unchanged | failed
    chunks: int = 0
    reason: str = ""
    warnings: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    outcomes: list[VideoOutcome] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def chunks_added(self) -> int:
        return sum(o.chunks for o in self.outcomes if o.status in ("added", "updated"))

    @property
    def succeeded(self) -> bool:
        """False only when nothing at all could be ingested (the CLI's non-zero exit)."""
        return any(o.status != "failed" for o in self.outcomes)


def discover(paths: Iterable[Path], report: IngestReport) -> dict[str, VideoFiles]:
    videos: dict[str, VideoFiles] = {}
    for root in paths:
        if not root.exists():
            report.outcomes.append(VideoOutcome(video_id_of(root), root, "failed", reason="no such file or folder"))
            continue
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            suffix = path.suffix.lower()
            if path.name.lower() == "manifest.csv" or path.name.startswith("."):
                continue
            if suffix not in TRANSCRIPT_SUFFIXES and suffix not in MEDIA_SUFFIXES:
                if not root.is_dir():
                    report.outcomes.append(
                        VideoOutcome(video_id_of(path), path, "failed", reason=f"unsupported file type {suffix or '(none)'}")
                    )
                continue
            video_id = video_id_of(path)
            entry = videos.get(video_id)
            if entry is not None and entry.folder != path.parent:
                report.warnings.append(f"video {video_id} appears in {entry.folder} and {path.parent}; using both files")
            entry = videos.setdefault(video_id, VideoFiles(video_id, path.parent))
            (entry.media if suffix in MEDIA_SUFFIXES else entry.transcripts).append(path)
    for entry in videos.values():
        entry.transcripts.sort(key=lambda p: (_PREFERENCE.get(p.suffix.lower(), 9), p.name))
    return videos


def load_manifests(videos: dict[str, VideoFiles], explicit: Path | None, report: IngestReport) -> dict[str, Manifest]:
    """One manifest per folder (``manifest.csv`` beside the files) unless one is given explicitly."""
    manifests: dict[str, Manifest] = {}
    paths = {explicit} if explicit else {v.folder / "manifest.csv" for v in videos.values()}
    for path in sorted(p for p in paths if p is not None):
        if not path.exists():
            if explicit:
                report.warnings.append(f"manifest {path} does not exist; titles come from file names")
            continue
        try:
            manifest = read_manifest(path)
        except ManifestError as error:
            report.warnings.append(str(error))
            continue
        report.warnings.extend(manifest.warnings)
        manifests[str(path)] = manifest
    return manifests


def describe_video(files: VideoFiles, manifests: dict[str, Manifest], explicit: Path | None, report: IngestReport) -> Video:
    manifest_path = str(explicit) if explicit else str(files.folder / "manifest.csv")
    manifest = manifests.get(manifest_path)
    row = manifest.rows.get(files.video_id) if manifest else None
    if manifest and row is None:
        report.warnings.append(f"{files.video_id}: no row in {Path(manifest_path).name}; title and link taken from the file")
    target = files.media[0] if files.media else (files.transcripts[0] if files.transcripts else None)
    url = row.url if row and row.url else (local_url(target) if target else "")
    return Video(
        video_id=files.video_id,
        title=(row.title if row and row.title else files.video_id),
        url=url,
        source=(row.series if row and row.series else files.folder.name),
        duration_s=row.duration_s if row else None,
    )


def read_best_transcript(files: VideoFiles) -> tuple[Path, Transcript, list[str]]:
    """Try the richest transcript first; fall back to the next file when one is broken."""
    problems: list[str] = []
    for path in files.transcripts:
        try:
            transcript = read_transcript(path)
        except TranscriptError as error:
            problems.append(f"{path.name}: {error}")
            continue
        return path, transcript, [f"skipped {problem}" for problem in problems]
    if len(problems) == 1:
        raise TranscriptError(problems[0].split(": ", 1)[1])
    raise TranscriptError("; ".join(problems) or "no transcript file")


class Ingestor:
    def __init__(self, settings: Settings, bundle: StoreBundle | None = None) -> None:
        self.settings = settings
        self.bundle = bundle or open_store(settings)
        self.indexer = Indexer(settings, self.bundle)
        self._enricher: Any = None

    def ingest(
        self,
        paths: list[Path],
        manifest: Path | None = None,
        progress: Callable[[Iterable[VideoFiles]], Iterable[VideoFiles]] | None = None,
    ) -> IngestReport:
        started = time.perf_counter()
        report = IngestReport()
        videos = discover(paths, report)
        manifests = load_manifests(videos, manifest, report)
        self._warn_orphan_rows(videos, manifests, report)
        last_save = time.perf_counter()
        pending = 0
        iterator: Iterable[VideoFiles] = progress(videos.values()) if progress else videos.values()
        for files in iterator:
            outcome = self._ingest_one(files, manifests, manifest, report)
            report.outcomes.append(outcome)
            if outcome.status in ("added", "updated"):
                pending += 1
            if pending and (pending >= SAVE_EVERY_VIDEOS or time.perf_counter() - last_save > SAVE_EVERY_SECONDS):
                self.bundle.save()
                pending, last_save = 0, time.perf_counter()
        if pending:
            self.bundle.save()
        report.seconds = time.perf_counter() - started
        return report

    def _ingest_one(self, files: VideoFiles, manifests: dict[str, Manifest], explicit: Path | None, report: IngestReport) -> VideoOutcome:
        if not files.transcripts:
            return VideoOutcome(
                files.video_id,
                files.media[0] if files.media else None,
                "failed",
                reason="media without a transcript file (transcribe it with `course-ta transcribe` or `course-ta sync`)",
            )
        try:
            path, transcript, problems = read_best_transcript(files)
        except TranscriptError as error:
            return VideoOutcome(files.video_id, files.transcripts[0], "failed", reason=str(error))
        video = describe_video(files, manifests, explicit, report)
        outcome = VideoOutcome(files.video_id, path, "unchanged", warnings=problems + transcript.warnings)
        try:
            sentences = self._sentences(transcript.segments, outcome)
            documents = chunk_documents(
                video,
                sentences,
                chunk_words=self.settings.chunk_words,
                overlap_words=self.settings.chunk_overlap_words,
                embedding_model=self.settings.embedding_model,
            )
            outcome.chunks = len(documents)
            documents += self._summary_documents(video, sentences, outcome)
            if self.indexer.is_current(video.video_id, documents):
                return outcome
            had_documents = bool(self.indexer.existing_ids(video.video_id))
            self.indexer.index_video(video.video_id, documents)
            outcome.status = "updated" if had_documents else "added"
        except Exception as error:  # one broken video never stops the batch
            logger.exception("indexing %s failed", files.video_id)
            outcome.status = "failed"
            outcome.reason = f"{type(error).__name__}: {error}"
        return outcome

    # -- issue 4: repunctuation and summaries (pipelines/llm); offline they are cheap and never fail a video --

    @property
    def enricher(self) -> Any:
        if self._enricher is None:
            from pipelines.llm.enrich import Enricher

            self._enricher = Enricher(self.settings)
        return self._enricher

    def _sentences(self, segments: list[Any], outcome: VideoOutcome) -> list[Sentence]:
        from pipelines.llm.client import llm_configured

        if not self.settings.llm_repunctuate or not llm_configured(self.settings):
            return segments_to_sentences(segments)
        sentences, result = self.enricher.sentences(segments)
        if result is not None and result.reasons:
            outcome.warnings.append(
                f"repunctuation fell back to offline for {len(result.reasons)} of {result.windows} window(s): {result.reasons[0]}"
            )
        return sentences

    def _summary_documents(self, video: Video, sentences: list[Sentence], outcome: VideoOutcome) -> list[Any]:
        if not self.settings.summaries or not sentences:
            return []
        try:
            summary = self.enricher.summary(video, sentences)
        except Exception as error:  # a summary is a bonus: its failure never costs the video's chunks
            logger.warning("summary of %s failed", video.video_id, exc_info=True)
            outcome.warnings.append(f"no summary: {type(error).__name__}: {error}")
            return []
        if summary.reasons:
            outcome.warnings.append(f"summary is extractive: {summary.reasons[0]}")
        return self.enricher.summary_documents(video, summary)

    @staticmethod
    def _warn_orphan_rows(videos: dict[str, VideoFiles], manifests: dict[str, Manifest], report: IngestReport) -> None:
        for manifest in manifests.values():
            missing = sorted(set(manifest.rows) - set(videos))
            if missing:
                shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
                report.warnings.append(f"{manifest.path.name}: {len(missing)} row(s) without a file: {shown}")
