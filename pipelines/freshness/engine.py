"""The one ingest/sync engine: walk every listed video through the ledger stages into the index.

    list:    a source (scheduled: ``poll``; a path given to ``course-ta ingest``: ``ingest``)
             ──► ledger.record_listed() ──► remove stale (videos whose files are gone)
    process: transcript (captions │ transcript file │ faster-whisper) ──► cleaned ──► summarized
             ──► indexed (chunk, embed, write; foundation chunking + ``Indexer``)

Each stage writes its output atomically under the data dir (temp file, fsync, rename) *before*
the ledger marks it done with the hash of its input and output, so whatever moment the process
dies, a restart either trusts a finished stage or redoes it from scratch; indexing is idempotent
because document ids are content hashes. A video whose ledger hashes all match (and whose
documents the store still holds) is skipped without opening a file, which makes an unchanged
pass over hundreds of videos a single SQLite query plus one read of the store's ids.

The store is saved on one policy for both commands: every ``SAVE_EVERY_VIDEOS`` indexed videos or
``SAVE_EVERY_SECONDS``, and at the end of a pass; only then are those videos marked indexed.

Failures are caught per video and per stage, classified (``pipelines.freshness.faults``) and recorded;
retryable ones wait with exponential backoff, the rest wait until the video's input changes.
``course-ta ingest`` is an explicit request, so it retries a video at once whatever its backoff.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipelines.corpus.chunking import chunk_documents
from pipelines.corpus.discovery import read_best_transcript
from pipelines.corpus.sentences import segments_to_sentences
from pipelines.corpus.sources.local import list_local
from pipelines.corpus.sources.registry import VideoSource, build_source, normalise_location
from pipelines.corpus.sources.video_ref import LOCAL, YOUTUBE, VideoRef
from pipelines.corpus.sources.youtube import YouTubeSource
from pipelines.corpus.transcription.formats import segments_payload
from pipelines.corpus.transcripts import TranscriptError, parse_transcript
from pipelines.domain import Sentence
from pipelines.freshness.faults import VideoFailure, backoff_seconds, classify
from pipelines.freshness.ledger import EMBEDDED_WITH, FAILED, SATISFIED, SKIPPED, Ledger, StageRecord
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

CLEAN_VERSION = "clean-1"  # bump when cleaning changes, so every video is re-cleaned once
SAVE_EVERY_VIDEOS = 25
SAVE_EVERY_SECONDS = 60.0
WORK_STAGES = ("transcript", "cleaned", "summarized", "indexed")
MEDIA_ONLY = "media without a transcript file (transcribe it with `course-ta transcribe` or `course-ta sync`)"


def sha(*parts: object) -> str:
    """Stable hash of any JSON-able parts: the ledger's input hashes."""
    payload = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def write_atomically(path: Path, text: str) -> str:
    """Write text so a crash leaves either the old file or the new one; returns its hash."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    data = text.encode("utf-8")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return hashlib.sha256(data).hexdigest()


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


class SyncRunner:
    """One engine per process: shares the ledger, the store, the embedder and Whisper.

    ``transcribe_media=False`` is ``course-ta ingest``'s mode: transcript files only, media without
    one is reported rather than transcribed. ``save_every_videos``/``save_every_seconds`` and
    ``clock`` exist so tests can choose when saves and retries happen.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        ledger: Ledger | None = None,
        bundle: Any = None,
        youtube_options: dict[str, Any] | None = None,
        transcriber: Any = None,
        progress: Progress | None = None,
        transcribe_media: bool = True,
        save_every_videos: int = SAVE_EVERY_VIDEOS,
        save_every_seconds: float = SAVE_EVERY_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.ledger = ledger or Ledger.open(settings)
        self._bundle = bundle
        self._indexer: Any = None
        self._transcriber = transcriber
        self.youtube_options = youtube_options or {}
        self.progress = progress or Progress()
        self.transcribe_media = transcribe_media
        self.save_every_videos = save_every_videos
        self.save_every_seconds = save_every_seconds
        self.clock = clock
        self._index_lock = threading.Lock()
        self._transcribe_gate = threading.Semaphore(settings.transcription_concurrency)
        self._init_lock = threading.Lock()
        self._unsaved: list[tuple[str, str, str, str]] = []
        self._last_save = time.monotonic()
        self._prompt: str | None = None
        self._prompt_ready = False
        self.stop_event = threading.Event()  # set on shutdown: finish the current video, start no new one
        self._enricher: Any = None

    # -- directories ------------------------------------------------------------------------------

    @property
    def transcripts_dir(self) -> Path:
        """Each video's transcript as read or fetched (Whisper-style JSON)."""
        return self.settings.data_dir / "transcripts"

    @property
    def cleaned_dir(self) -> Path:
        """Each video's timed sentences after cleaning."""
        return self.settings.data_dir / "cleaned"

    @property
    def audio_dir(self) -> Path:
        """Downloaded audio waiting for Whisper."""
        return self.settings.data_dir / "audio"

    # -- lazily built heavy parts -------------------------------------------------------------------

    @property
    def bundle(self) -> Any:
        """The document store, opened on first use (without loading the embedder)."""
        with self._init_lock:
            return self._bundle_locked()

    def _bundle_locked(self) -> Any:
        if self._bundle is None:
            from pipelines.stores.document_store import open_store

            self._bundle = open_store(self.settings)
        return self._bundle

    @property
    def indexer(self) -> Any:
        """Embed-and-write pipeline over the store, warmed up on first use."""
        with self._init_lock:
            if self._indexer is None:
                from pipelines.stores.indexing import Indexer

                self._indexer = Indexer(self.settings, self._bundle_locked())
                self._indexer.warm_up()
            return self._indexer

    @property
    def transcriber(self) -> Any:
        """faster-whisper, loaded on the first video that needs it."""
        with self._init_lock:
            if self._transcriber is None:
                from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber

                self._transcriber = FasterWhisperTranscriber.from_settings(self.settings)
            self._transcriber.warm_up()
            return self._transcriber

    @property
    def enricher(self) -> Any:
        """Repunctuation, summaries and the LLM client with this pass's token budget."""
        with self._init_lock:
            if self._enricher is None:
                from pipelines.llm.enrich import Enricher

                self._enricher = Enricher(self.settings)
            return self._enricher

    def source_for(self, source_id: str) -> VideoSource:
        """The live source object for a ledger source."""
        source = self.ledger.source(source_id)
        if source is None:
            raise KeyError(f"no source {source_id} in the ledger")
        options = self.youtube_options if source.kind == YOUTUBE else {}
        return build_source(source, self.settings, **options)

    # -- list: scheduled sources ------------------------------------------------------------------------

    def poll(self, source_ids: list[str] | None = None, report: SyncReport | None = None) -> SyncReport:
        """List every scheduled source (or the given ones), record new or changed videos, drop gone ones."""
        report = report or SyncReport()
        for source in self.ledger.sources(scheduled_only=True):
            if source_ids and source.source_id not in source_ids:
                continue
            try:
                live = self.source_for(source.source_id)
                refs = live.list_videos()
            except Exception as error:  # a broken source never stops the others
                fault = classify(error)
                report.source_errors.append(f"{source.source_id} ({source.location}): {fault.reason}")
                logger.warning("listing %s failed: %s", source.location, fault.reason)
                continue
            report.warnings.extend(live.warnings)
            for ref in refs:
                previous = self.ledger.video(ref.video_id)
                if previous is not None and previous.kind == YOUTUBE and ref.kind == YOUTUBE:
                    ref = _keep_enrichment(previous, ref)
                report.listed += 1
                if self.ledger.record_listed(ref):
                    report.new_or_changed += 1
            if source.kind == LOCAL:  # a YouTube listing misses private or throttled entries: never taken as deletion
                self._remove_stale(source.source_id, source.location, {ref.video_id for ref in refs}, report)
        return report

    # -- list: paths given to ``course-ta ingest`` ---------------------------------------------------

    def ingest(self, paths: Iterable[Path], manifest: Path | None = None) -> SyncReport:
        """List the given files and folders as one-shot sources, then bring their videos up to date.

        Each existing path is recorded as a source that is not scheduled: the scheduler never polls
        it, so deleting a folder ingested once by hand removes nothing. Ingesting the same path
        again does remove the videos whose files are gone from it. Results come in discovery order,
        each with the file it is about and its warnings (also for videos that were already current).
        """
        started = time.perf_counter()
        report = SyncReport()
        roots: dict[Path, str] = {}
        for path in paths:
            if path.exists():
                roots[path] = self.ledger.add_source(LOCAL, normalise_location(str(path)), scheduled=False).source_id
            else:
                roots[path] = ""  # discovery reports it as missing
        refs, findings = list_local(roots, manifest)
        report.warnings.extend(findings.warnings)
        report.results.extend(VideoResult(u.video_id, "failed", u.reason, path=str(u.path)) for u in findings.unusable)
        wanted: list[str] = []
        for ref in refs:
            report.listed += 1
            if ref.transcript_paths or self.transcribe_media:
                if self.ledger.record_listed(ref):
                    report.new_or_changed += 1
                wanted.append(ref.video_id)
        for root, source_id in roots.items():
            if source_id:
                location = normalise_location(str(root))
                self._remove_stale(source_id, location, {ref.video_id for ref in refs if ref.source_id == source_id}, report)
        processed = {result.video_id: result for result in self.process(video_ids=wanted, retry_now=True).results}
        for ref in refs:
            result = processed.get(ref.video_id)
            if result is None:
                report.results.append(VideoResult(ref.video_id, "failed", MEDIA_ONLY, path=ref.media_path or ""))
                continue
            self._describe_files(ref, result)
            report.results.append(result)
        report.seconds = time.perf_counter() - started
        return report

    def _describe_files(self, ref: VideoRef, result: VideoResult) -> None:
        """The transcript file a result is about and the warnings its finished stages recorded."""
        records = self.ledger.stages_of(ref.video_id)
        transcript = records.get("transcript")
        used = ""
        if transcript is not None and transcript.status in SATISFIED and (transcript.detail or "").startswith("file:"):
            used = (transcript.detail or "").rsplit(" (", 1)[0].removeprefix("file:")
        paths = list(ref.transcript_paths)
        result.path = next((p for p in paths if Path(p).name == used), paths[0] if paths else ref.media_path or "")
        result.warnings = [
            warning
            for stage in WORK_STAGES
            if stage in records and records[stage].status in SATISFIED
            for warning in records[stage].warnings
        ]

    # -- remove stale -------------------------------------------------------------------------------

    def _remove_stale(self, source_id: str, location: str, listed: set[str], report: SyncReport) -> None:
        gone = sorted({ref.video_id for ref in self.ledger.videos(source_id)} - listed)
        if not gone:
            return
        if not listed:  # an empty (or unmounted) folder is more likely a mistake than a deletion of everything
            report.warnings.append(
                f"{location} holds no videos now; its {len(gone)} indexed video(s) are kept (`course-ta remove-source` drops them)"
            )
            return
        report.removed.extend(self.remove_videos(gone))

    def remove_videos(self, video_ids: list[str]) -> list[str]:
        """Take videos out of the index (saved at once), then out of the ledger and the data dir."""
        if not video_ids:
            return []
        gone = set(video_ids)
        with self._index_lock:
            if self._indexer is not None:  # through the indexer, so its cache of stored ids stays true
                for video_id in video_ids:
                    self._indexer.index_video(video_id, [])
            else:
                held = self.bundle.ids_by_video()
                stale = sorted(i for video_id in video_ids for i in held.get(video_id, ()))
                if stale:
                    self.bundle.store.delete_documents(stale)
            self._unsaved = [entry for entry in self._unsaved if entry[0] not in gone]
            self._flush_locked(force=True)
        from pipelines.llm.summaries import summary_path

        for video_id in video_ids:  # ledger last: a crash before this point finds the video stale again
            self.ledger.remove_video(video_id)
            for path in (self.transcripts_dir / f"{video_id}.json", self.cleaned_dir / f"{video_id}.json"):
                path.unlink(missing_ok=True)
            summary_path(self.settings, video_id).unlink(missing_ok=True)
            logger.info("removed %s from the index", video_id)
        return list(video_ids)

    def remove_source(self, source_id: str) -> list[str]:
        """Stop syncing a source: its videos leave the index and the ledger, then the source row goes."""
        removed = self.remove_videos([ref.video_id for ref in self.ledger.videos(source_id)])
        self.ledger.remove_source(source_id)
        return removed

    # -- process -------------------------------------------------------------------------------------

    def process(self, video_ids: list[str] | None = None, report: SyncReport | None = None, retry_now: bool = False) -> SyncReport:
        """Bring every listed video (or the given ones) up to date; one failure never stops the rest.

        ``retry_now`` ignores backoff and "not retried until the video changes" (an explicit request).
        """
        report = report or SyncReport()
        if self._enricher is not None:
            self._enricher.new_run()  # the LLM token budget is per pass
        stages = self.ledger.all_stages()
        chosen = set(video_ids) if video_ids is not None else None
        refs = [r for r in self.ledger.videos() if chosen is None or r.video_id in chosen]
        held = self._held_videos() if refs else None
        work: list[VideoRef] = []
        for ref in refs:
            if (held is None or ref.video_id in held) and self._up_to_date(ref, stages.get(ref.video_id, {})):
                report.results.append(VideoResult(ref.video_id, "unchanged"))
            else:
                work.append(ref)
        if work:
            run = functools.partial(self._process_video_safely, held=held, retry_now=retry_now)
            self.progress.begin(len(work))
            try:
                if self.settings.sync_workers > 1 and len(work) > 1:
                    with ThreadPoolExecutor(max_workers=self.settings.sync_workers, thread_name_prefix="sync") as pool:
                        report.results.extend(pool.map(run, work))
                else:
                    report.results.extend(run(ref) for ref in work)
            finally:
                self.progress.end()
            self.flush()
        return report

    def _held_videos(self) -> set[str] | None:
        """Videos the store holds documents for: a ledger that outlived its store re-indexes what is missing."""
        try:
            return set(self.bundle.ids_by_video())
        except Exception as error:  # an unreachable store must not stop a pass that may have nothing to index
            logger.warning("could not read the store's video ids (%s); trusting the ledger", classify(error).reason)
            return None

    def sync_once(self) -> SyncReport:
        """Poll every scheduled source, then process every listed video."""
        started = time.perf_counter()
        report = self.poll()
        self.process(report=report)
        report.seconds = time.perf_counter() - started
        return report

    def flush(self) -> None:
        """Save the store, then mark the videos it now holds as indexed."""
        with self._index_lock:
            self._flush_locked()

    def _flush_locked(self, force: bool = False) -> None:
        if not self._unsaved and not force:
            return
        if self._bundle is not None:
            self._bundle.save()
        for video_id, input_hash, output_hash, detail in self._unsaved:
            self.ledger.finish(video_id, "indexed", input_hash, output_hash, detail)
        self._unsaved.clear()
        self._last_save = time.monotonic()

    # -- hashes that decide what is current -------------------------------------------------------

    def transcript_input(self, ref: VideoRef) -> str:
        """What the transcript stage depends on: the files' fingerprint, or the captions settings."""
        if ref.kind == LOCAL:
            return sha(LOCAL, ref.fingerprint, self.settings.always_transcribe and self.transcribe_media)
        return sha(
            YOUTUBE, ref.video_id, self.settings.caption_language_list, self.settings.allow_auto_captions, self.settings.always_transcribe
        )

    @staticmethod
    def clean_input(transcript_hash: str | None, repunctuation: str = "") -> str:
        """``repunctuation`` names the LLM that repunctuates (empty offline), so configuring one re-cleans."""
        if repunctuation:
            return sha(transcript_hash, CLEAN_VERSION, repunctuation)
        return sha(transcript_hash, CLEAN_VERSION)

    def index_input(self, ref: VideoRef, cleaned_hash: str | None, summary_hash: str = "") -> str:
        """What the indexed documents depend on: sentences, chunking, model, title/link/series, summary."""
        s = self.settings
        if summary_hash:  # the summary is indexed with the chunks: a new summary re-indexes the video
            return sha(cleaned_hash, s.chunk_words, s.chunk_overlap_words, s.embedding_model, ref.title, ref.url, ref.series, summary_hash)
        return sha(cleaned_hash, s.chunk_words, s.chunk_overlap_words, s.embedding_model, ref.title, ref.url, ref.series)

    @property
    def repunctuation_key(self) -> str:
        """The repunctuating LLM and window, or empty when sentences are cut offline."""
        from pipelines.llm.client import llm_configured

        if not (self.settings.llm_repunctuate and llm_configured(self.settings)):
            return ""
        return self.enricher.repunctuation_key

    def summary_input(self, cleaned_hash: str | None) -> str:
        """What the summary depends on: the sentences and who summarizes (LLM or extractive)."""
        if not self.settings.summaries:
            return sha(cleaned_hash, "summary-none")
        from pipelines.llm.client import llm_configured

        method = f"llm:{self.settings.llm_model}" if llm_configured(self.settings) else "extractive"
        return sha(cleaned_hash, "summary", method)

    def _up_to_date(self, ref: VideoRef, records: dict[str, StageRecord]) -> bool:
        transcript, cleaned, indexed = records.get("transcript"), records.get("cleaned"), records.get("indexed")
        if transcript is None or cleaned is None or indexed is None:
            return False
        summarized = records.get("summarized")
        summary_hash = ""
        if self.settings.summaries:
            if summarized is None or not summarized.satisfied_by(self.summary_input(cleaned.output_hash)):
                return False
            summary_hash = summarized.output_hash or ""
        # A YouTube transcript stays valid even if the transcript input changed only by re-listing.
        return (
            transcript.satisfied_by(self.transcript_input(ref))
            and cleaned.satisfied_by(self.clean_input(transcript.output_hash, self.repunctuation_key))
            and indexed.satisfied_by(self.index_input(ref, cleaned.output_hash, summary_hash))
        )

    def _blocked(self, records: dict[str, StageRecord], inputs: dict[str, str]) -> str | None:
        """Why this video must not be retried now (permanent failure, backoff, too many attempts)."""
        now = self.clock()
        for stage in WORK_STAGES:
            record = records.get(stage)
            if record is None or record.status != FAILED or record.input_hash != inputs.get(stage, record.input_hash):
                continue
            if not record.retryable:
                return f"{stage}: {record.last_error} (not retried until the video changes)"
            if record.attempts >= self.settings.retry_max_attempts:
                return f"{stage}: {record.last_error} (gave up after {record.attempts} attempts)"
            if record.next_attempt_at is not None and record.next_attempt_at > now:
                return f"{stage}: {record.last_error} (next attempt in {int(record.next_attempt_at - now)}s)"
        return None

    # -- one video ------------------------------------------------------------------------------

    def _process_video_safely(self, ref: VideoRef, held: set[str] | None = None, retry_now: bool = False) -> VideoResult:
        if self.stop_event.is_set():
            return VideoResult(ref.video_id, "waiting", "shutting down")
        self.progress.video_started(ref)
        records = self.ledger.stages_of(ref.video_id)
        blocked = None if retry_now else self._blocked(records, {"transcript": self.transcript_input(ref)})
        if blocked:
            result = VideoResult(ref.video_id, "waiting", blocked)
        else:
            result = VideoResult(ref.video_id, "indexed")
            stage = "transcript"
            try:
                for stage in WORK_STAGES:
                    self.progress.stage(ref, stage)
                    if self._run_stage(stage, ref, result, held):
                        result.stages_run.append(stage)
            except BaseException as error:
                if not isinstance(error, Exception):
                    raise
                fault = classify(error)
                attempts = self.ledger.stage(ref.video_id, stage) or records.get(stage)
                count = attempts.attempts if attempts else 1
                retry_at = (
                    self.clock() + backoff_seconds(count, self.settings.retry_base_seconds, self.settings.retry_max_seconds)
                    if fault.retryable
                    else None
                )
                self.ledger.fail(ref.video_id, stage, fault.reason, fault.retryable, retry_at)
                if not isinstance(error, VideoFailure):
                    logger.warning("%s failed at %s", ref.video_id, stage, exc_info=True)
                result = VideoResult(ref.video_id, "failed", fault.reason, result.stages_run, failed_stage=stage)
            if result.status == "indexed" and not result.stages_run:
                result.status = "unchanged"
        self.progress.video_done(ref, result)
        return result

    def _run_stage(self, stage: str, ref: VideoRef, result: VideoResult, held: set[str] | None) -> bool:
        """Run one stage if its input changed; True when it did work."""
        records = self.ledger.stages_of(ref.video_id)
        if stage == "transcript":
            return self._transcript_stage(ref, records.get("transcript"))
        transcript = records["transcript"]
        if stage == "cleaned":
            return self._clean_stage(ref, transcript, records.get("cleaned"))
        cleaned = records["cleaned"]
        if stage == "summarized":
            return self._summary_stage(ref, cleaned, records.get("summarized"))
        summarized = records.get("summarized")
        summary_hash = (summarized.output_hash or "") if self.settings.summaries and summarized is not None else ""
        in_store = held is None or ref.video_id in held
        return self._index_stage(ref, cleaned, records.get("indexed") if in_store else None, result, summary_hash)

    # -- stages -----------------------------------------------------------------------------------

    def _transcript_stage(self, ref: VideoRef, record: StageRecord | None) -> bool:
        wanted = self.transcript_input(ref)
        path = self.transcripts_dir / f"{ref.video_id}.json"
        if record is not None and record.satisfied_by(wanted) and _file_hash(path) == record.output_hash:
            return False
        self.ledger.start(ref.video_id, "transcript", wanted)
        started = time.perf_counter()
        segments, method, language, warnings = self._produce_transcript(ref)
        payload = segments_payload(segments, video_id=ref.video_id, method=method, language=language)
        output = write_atomically(path, json.dumps(payload, ensure_ascii=False))
        self.ledger.finish(
            ref.video_id, "transcript", wanted, output, f"{method} ({time.perf_counter() - started:.1f}s)", warnings=warnings
        )
        return True

    def _produce_transcript(self, ref: VideoRef) -> tuple[list[Any], str, str, list[str]]:
        """Segments, how they were made, their language and any warnings about the source."""
        if ref.kind == LOCAL:
            return self._local_transcript(ref)
        always = self.settings.always_transcribe
        source = self.source_for(ref.source_id)
        assert isinstance(source, YouTubeSource)
        if not always:
            captions = source.fetch_captions(ref)
            if captions is not None:
                return _caption_segments(captions.to_json()), captions.method, captions.language_code, []
        info = source.video_info(ref)
        enriched = source.enrich(ref, info)
        if enriched != ref:
            self.ledger.record_listed(enriched)
        audio = source.download_audio(enriched, self.audio_dir)
        try:
            return (*self._transcribe(audio), [])
        finally:
            if not self.settings.keep_audio:
                audio.unlink(missing_ok=True)

    def _local_transcript(self, ref: VideoRef) -> tuple[list[Any], str, str, list[str]]:
        media = Path(ref.media_path) if ref.media_path and self.transcribe_media else None
        unreadable: list[str] = []
        if ref.transcript_paths and not (self.settings.always_transcribe and media):
            try:
                path, transcript, skipped = read_best_transcript([Path(p) for p in ref.transcript_paths])
            except TranscriptError as error:
                if media is None:
                    raise VideoFailure(str(error), retryable=False) from None
                unreadable.append(f"transcript unreadable ({error}); transcribed {media.name} instead")
            else:
                return transcript.segments, f"file:{path.name}", "", skipped + transcript.warnings
        if media is None:
            raise VideoFailure(MEDIA_ONLY if ref.media_path else "no transcript file and no media to transcribe", retryable=False)
        return (*self._transcribe(media), unreadable)

    def _transcribe(self, media: Path) -> tuple[list[Any], str, str]:
        prompt = self.vocabulary_prompt()
        with self._transcribe_gate:
            result = self.transcriber.transcribe_file(media, prompt)
        if not result.segments:
            raise VideoFailure(f"no speech detected in {media.name} ({result.audio_s:.0f}s of audio)", retryable=False)
        return result.segments, f"transcribed:{result.model}{':batched' if result.batched else ''}", result.language

    def vocabulary_prompt(self) -> str | None:
        """Titles plus cleaned transcripts seen so far → the Whisper initial prompt (computed once)."""
        with self._init_lock:
            if not self._prompt_ready:
                from pipelines.corpus.transcription.vocabulary import course_terms, initial_prompt

                titles = [ref.title for ref in self.ledger.videos()]
                texts = []
                for path in sorted(self.cleaned_dir.glob("*.json"))[:300]:
                    try:
                        texts.append(" ".join(item[0] for item in json.loads(path.read_text(encoding="utf-8"))))
                    except (OSError, ValueError, TypeError, IndexError):
                        continue
                self._prompt = initial_prompt(course_terms(titles, texts))
                self._prompt_ready = True
            return self._prompt

    def _clean_stage(self, ref: VideoRef, transcript: StageRecord, record: StageRecord | None) -> bool:
        repunctuation = self.repunctuation_key
        wanted = self.clean_input(transcript.output_hash, repunctuation)
        path = self.cleaned_dir / f"{ref.video_id}.json"
        if record is not None and record.satisfied_by(wanted) and _file_hash(path) == record.output_hash:
            return False
        self.ledger.start(ref.video_id, "cleaned", wanted)
        text = (self.transcripts_dir / f"{ref.video_id}.json").read_text(encoding="utf-8")
        try:
            parsed = parse_transcript(text, ".json")
        except TranscriptError as error:
            raise VideoFailure(f"transcript is empty after cleaning: {error}", retryable=False) from None
        detail = ""
        warnings: list[str] = []
        if repunctuation:  # an LLM repunctuates unpunctuated transcripts; a failed window keeps the offline cut
            sentences, result = self.enricher.sentences(parsed.segments)
            if result is not None:
                detail = f", {result.method} ({result.windows_llm}/{result.windows} windows)"
                if result.reasons:
                    warnings.append(
                        f"repunctuation fell back to offline for {len(result.reasons)} of {result.windows} window(s): {result.reasons[0]}"
                    )
        else:
            sentences = segments_to_sentences(parsed.segments)
        rows = [[s.text, s.start, s.end] for s in sentences]
        output = write_atomically(path, json.dumps(rows, ensure_ascii=False))
        self.ledger.finish(ref.video_id, "cleaned", wanted, output, f"{len(rows)} sentences{detail}", warnings=warnings)
        return True

    def _summary_stage(self, ref: VideoRef, cleaned: StageRecord, record: StageRecord | None) -> bool:
        """Summary paragraph and salient points (LLM, else extractive), stored under summaries/."""
        from pipelines.llm.summaries import summary_path

        wanted = self.summary_input(cleaned.output_hash)
        if not self.settings.summaries:
            if record is not None and record.satisfied_by(wanted):
                return False
            self.ledger.finish(
                ref.video_id, "summarized", wanted, "", "summaries are switched off (COURSE_TA_SUMMARIES=false)", status=SKIPPED
            )
            return False
        path = summary_path(self.settings, ref.video_id)
        if record is not None and record.satisfied_by(wanted) and _file_hash(path) == record.output_hash:
            return False
        self.ledger.start(ref.video_id, "summarized", wanted)
        rows = json.loads((self.cleaned_dir / f"{ref.video_id}.json").read_text(encoding="utf-8"))
        sentences = [Sentence(text=row[0], start=row[1], end=row[2]) for row in rows]
        summary = self.enricher.summary(ref.to_video(), sentences)
        note = f"; LLM not used: {summary.reasons[0]}" if summary.reasons else ""
        warnings = [f"summary is extractive: {summary.reasons[0]}"] if summary.reasons else []
        self.ledger.finish(
            ref.video_id,
            "summarized",
            wanted,
            _file_hash(path) or "",
            f"{summary.method}: {len(summary.points)} points{note}",
            warnings=warnings,
        )
        return True

    def _index_stage(self, ref: VideoRef, cleaned: StageRecord, record: StageRecord | None, result: VideoResult, summary_hash: str) -> bool:
        wanted = self.index_input(ref, cleaned.output_hash, summary_hash)
        if record is not None and record.satisfied_by(wanted):
            return False
        rows = json.loads((self.cleaned_dir / f"{ref.video_id}.json").read_text(encoding="utf-8"))
        sentences = [Sentence(text=row[0], start=row[1], end=row[2]) for row in rows]
        documents = chunk_documents(
            ref.to_video(),
            sentences,
            chunk_words=self.settings.chunk_words,
            overlap_words=self.settings.chunk_overlap_words,
            embedding_model=self.settings.embedding_model,
        )
        result.chunks = len(documents)
        if summary_hash:  # the stored summary as kind=summary documents, replaced with the video's chunks
            from pipelines.llm.summaries import load_summary, summary_documents

            summary = load_summary(self.settings, ref.video_id)
            if summary is not None:
                documents += summary_documents(ref.to_video(), summary, self.settings.embedding_model)
        indexer = self.indexer
        self.ledger.start(ref.video_id, "indexed", wanted)
        with self._index_lock:
            had_documents = bool(indexer.existing_ids(ref.video_id))
            outcome = indexer.index_video(ref.video_id, documents)
            if outcome.added == 0 and outcome.removed == 0:
                result.change = "unchanged"  # the store already held exactly these documents
            else:
                result.change = "updated" if had_documents else "added"
            ids = sha(sorted(d.id for d in documents))
            self._unsaved.append(
                (
                    ref.video_id,
                    wanted,
                    ids,
                    f"{len(documents)} chunks (+{outcome.added} -{outcome.removed}){EMBEDDED_WITH}{self.settings.embedding_model}",
                )
            )
            if len(self._unsaved) >= self.save_every_videos or time.monotonic() - self._last_save > self.save_every_seconds:
                self._flush_locked()
        return True

    # -- captions re-check --------------------------------------------------------------------------

    def recheck_captions(self, today: date | None = None) -> list[str]:
        """Recent YouTube videos that were transcribed because captions were missing: try again.

        Captions often appear a day after upload; human captions beat Whisper, so when they show
        up the transcript is replaced and the video flows through cleaning and indexing again.
        """
        today = today or date.today()
        horizon = today - timedelta(days=self.settings.caption_recheck_days)
        replaced: list[str] = []
        for ref in self.ledger.videos():
            if ref.kind != YOUTUBE:
                continue
            record = self.ledger.stage(ref.video_id, "transcript")
            if record is None or record.status != "done" or not (record.detail or "").startswith("transcribed"):
                continue
            if ref.published is not None and date.fromisoformat(ref.published) < horizon:
                continue
            try:
                source = self.source_for(ref.source_id)
                assert isinstance(source, YouTubeSource)
                captions = source.fetch_captions(ref)
            except Exception as error:
                logger.info("caption re-check of %s failed: %s", ref.video_id, classify(error).reason)
                continue
            if captions is None:
                continue
            payload = segments_payload(
                _caption_segments(captions.to_json()), video_id=ref.video_id, method=captions.method, language=captions.language_code
            )
            output = write_atomically(self.transcripts_dir / f"{ref.video_id}.json", json.dumps(payload, ensure_ascii=False))
            self.ledger.finish(
                ref.video_id, "transcript", record.input_hash or self.transcript_input(ref), output, f"{captions.method} (re-check)"
            )
            replaced.append(ref.video_id)
        if replaced:
            self.process(video_ids=replaced)
        return replaced


def _caption_segments(raw_json: str) -> list[Any]:
    try:
        return parse_transcript(raw_json, ".json").segments
    except TranscriptError as error:
        raise VideoFailure(f"captions could not be parsed: {error}", retryable=False) from None


def _keep_enrichment(previous: VideoRef, listed: VideoRef) -> VideoRef:
    """Flat listings lack publish dates; keep what full metadata told us earlier."""
    return VideoRef(
        **{
            **listed.__dict__,
            "published": listed.published or previous.published,
            "duration_s": listed.duration_s or previous.duration_s,
        }
    )


def _file_hash(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
