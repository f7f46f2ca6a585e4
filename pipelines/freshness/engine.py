"""The one ingest/sync engine: walk every listed video through the ledger stages into the index.

    list:    a source (scheduled: ``poll``; a path given to ``course-ta ingest``: ``ingest``)
             ──► ledger.record_listed() ──► remove stale (videos whose files are gone)
    process: transcript (captions │ transcript file │ faster-whisper) ──► cleaned ──► summarized
             ──► indexed (chunk, embed, write; foundation chunking + ``Indexer``)

This module only orchestrates (``SyncRunner``); what it drives lives beside it:
``stages`` (the four stages and what they write under the data dir), ``inputs`` (the hashes that
decide whether a stage is current), ``saving`` (when the store is saved), ``removal`` (stale videos
and sources), ``retries`` (failures and backoff), ``resources`` (the store, the indexer, Whisper and
the LLM, built on first use) and ``reports`` (``VideoResult``, ``SyncReport``, ``Progress``).

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
Whatever one video raises (a parser's ``RecursionError``, ``MemoryError``, a bug) costs that video
only; the pass goes on to the next. What stops a pass is the store itself (``StoreError``: a full
disk, a damaged index, a writer holding the lock too long) or an interrupt (Ctrl-C): then the
videos finished so far are saved if the store can still be written, and the error is raised.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from pipelines.corpus.sources.local import list_local
from pipelines.corpus.sources.registry import normalise_location
from pipelines.corpus.sources.video_ref import LOCAL, YOUTUBE, VideoRef
from pipelines.corpus.sources.youtube import YouTubeSource
from pipelines.freshness import removal
from pipelines.freshness.faults import VideoFailure, classify
from pipelines.freshness.inputs import file_hash, is_current
from pipelines.freshness.ledger import SATISFIED, WORK_STAGES, Ledger, StageRecord
from pipelines.freshness.reports import Progress, SyncReport, VideoResult
from pipelines.freshness.resources import SyncResources
from pipelines.freshness.retries import blocked_reason, record_failure
from pipelines.freshness.saving import SAVE_EVERY_SECONDS, SAVE_EVERY_VIDEOS, SavePolicy
from pipelines.freshness.stages import MEDIA_ONLY, VideoStages
from pipelines.settings import Settings
from pipelines.stores.errors import StoreCorruptError, StoreError

# Callers import the pass's vocabulary from here, next to the engine that speaks it.
__all__ = ["SAVE_EVERY_SECONDS", "SAVE_EVERY_VIDEOS", "WORK_STAGES", "Progress", "SyncReport", "SyncRunner", "VideoResult"]

logger = logging.getLogger(__name__)


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
        self.resources = SyncResources(settings, self.ledger, bundle=bundle, transcriber=transcriber, youtube_options=youtube_options)
        self.saves = SavePolicy(self.resources, save_every_videos, save_every_seconds)
        self.stages = VideoStages(self.resources, self.saves, transcribe_media)
        self.progress = progress or Progress()
        self.transcribe_media = transcribe_media
        self.clock = clock
        self.stop_event = threading.Event()  # set on shutdown: finish the current video, start no new one
        self._abort = threading.Event()  # set when a pass must stop early (store error, interrupt): start no new video

    @property
    def bundle(self) -> Any:
        """The document store, opened on first use (without loading the embedder)."""
        return self.resources.bundle

    @property
    def indexer(self) -> Any:
        """Embed-and-write pipeline over the store, warmed up on first use."""
        return self.resources.indexer

    def vocabulary_prompt(self) -> str | None:
        """Titles plus cleaned transcripts seen so far → the Whisper initial prompt (computed once)."""
        return self.resources.vocabulary_prompt()

    # -- list: scheduled sources ------------------------------------------------------------------------

    def poll(self, source_ids: list[str] | None = None, report: SyncReport | None = None) -> SyncReport:
        """List every scheduled source (or the given ones), record new or changed videos, drop gone ones."""
        report = report or SyncReport()
        for source in self.ledger.sources(scheduled_only=True):
            if source_ids and source.source_id not in source_ids:
                continue
            try:
                live = self.resources.source_for(source.source_id)
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
            listed = {ref.video_id for ref in refs}
            if source.kind == LOCAL:
                removal.remove_stale(self.resources, self.saves, source.source_id, source.location, listed, report)
            elif source.kind == YOUTUBE:  # a listing that succeeded and no longer holds a video: it was deleted or unlisted
                removal.remove_stale_listed(self.resources, self.saves, source.source_id, source.location, listed, report)
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
                listed = {ref.video_id for ref in refs if ref.source_id == source_id}
                removal.remove_stale(self.resources, self.saves, source_id, normalise_location(str(root)), listed, report)
        processed = {result.video_id: result for result in self.process(video_ids=wanted, retry_now=True).results}
        for ref in refs:
            result = processed.get(ref.video_id)
            if result is None:
                report.results.append(VideoResult(ref.video_id, "failed", MEDIA_ONLY, path=ref.media_path or ""))
                continue
            result.name_files(ref, self.ledger.stages_of(ref.video_id))
            report.results.append(result)
        report.seconds = time.perf_counter() - started
        return report

    # -- remove ---------------------------------------------------------------------------------------

    def remove_videos(self, video_ids: list[str]) -> list[str]:
        """Take videos out of the index (saved at once), then out of the ledger and the data dir."""
        return removal.remove_videos(self.resources, self.saves, video_ids)

    def remove_source(self, source_id: str) -> list[str]:
        """Stop syncing a source: its videos leave the index and the ledger, then the source row goes."""
        return removal.remove_source(self.resources, self.saves, source_id)

    # -- process -------------------------------------------------------------------------------------

    def process(self, video_ids: list[str] | None = None, report: SyncReport | None = None, retry_now: bool = False) -> SyncReport:
        """Bring every listed video (or the given ones) up to date; one failure never stops the rest.

        ``retry_now`` ignores backoff and "not retried until the video changes" (an explicit request).
        """
        report = report or SyncReport()
        enricher = self.resources.enricher_if_built
        if enricher is not None:
            enricher.new_run()  # the LLM token budget is per pass
        stages = self.ledger.all_stages()
        chosen = set(video_ids) if video_ids is not None else None
        refs = [r for r in self.ledger.videos() if chosen is None or r.video_id in chosen]
        held = self._held_videos() if refs else None
        work: list[VideoRef] = []
        for ref in refs:
            if (held is None or ref.video_id in held) and self._is_current(ref, stages.get(ref.video_id, {})):
                report.results.append(VideoResult(ref.video_id, "unchanged"))
            else:
                work.append(ref)
        if work:
            self._run_all(work, functools.partial(self._process_video_safely, held=held, retry_now=retry_now), report)
        return report

    def _run_all(self, work: list[VideoRef], run: Callable[[VideoRef], VideoResult], report: SyncReport) -> None:
        """Run ``run`` over ``work`` (on the worker threads when configured), then save.

        On a store error or an interrupt no further video starts, the videos finished so far are
        saved when the store can still be written, and the error is raised to the caller.
        """
        self._abort.clear()
        indexer = self.resources.indexer_if_built
        if indexer is not None and hasattr(indexer, "_existing"):
            # Another process (an ingest beside the scheduler) may have saved since the indexer read the
            # store's ids: read them again this pass rather than trust a diff against a stale view.
            indexer._existing = None
        self.progress.begin(len(work))
        try:
            if self.settings.sync_workers > 1 and len(work) > 1:
                pool = ThreadPoolExecutor(max_workers=self.settings.sync_workers, thread_name_prefix="sync")
                try:
                    for future in [pool.submit(run, ref) for ref in work]:
                        report.results.append(future.result())
                finally:
                    self._abort.set()  # no-op after a normal end; otherwise queued videos are never started
                    pool.shutdown(wait=True, cancel_futures=True)
            else:
                for ref in work:
                    report.results.append(run(ref))
        except BaseException as error:
            self._abort.set()
            self._save_what_is_done(error)
            raise
        finally:
            self._abort.clear()
            self.progress.end()
        self.flush()

    def _save_what_is_done(self, error: BaseException) -> None:
        """After ``error`` stopped a pass: save the videos finished so far, unless the store cannot be written."""
        if self.saves.waiting == 0 or isinstance(error, StoreError):  # a store error would only repeat itself
            return
        try:
            self.flush()
            logger.warning("pass stopped (%s); saved the videos finished before it", type(error).__name__)
        except BaseException as save_error:  # a second Ctrl-C, a full disk: the previous index stays as it was
            logger.warning("pass stopped (%s) and the finished videos could not be saved: %s", type(error).__name__, save_error)

    def _is_current(self, ref: VideoRef, records: dict[str, StageRecord]) -> bool:
        return is_current(
            self.settings, ref, records, transcribe_media=self.transcribe_media, repunctuation=lambda: self.resources.repunctuation_key
        )

    def _held_videos(self) -> set[str] | None:
        """Videos the store holds documents for: a ledger that outlived its store re-indexes what is missing."""
        try:
            return set(self.resources.bundle.ids_by_video())
        except StoreCorruptError:  # indexing into a damaged index would fail every video: say so once
            raise
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
        self.saves.flush()

    # -- one video ------------------------------------------------------------------------------

    def _process_video_safely(
        self, ref: VideoRef, held: set[str] | None = None, retry_now: bool = False, stages: tuple[str, ...] = WORK_STAGES
    ) -> VideoResult:
        """One video unless shutting down or still waiting after a failure; told to ``progress`` either way.

        Whatever the video raises is its own failure (recorded, returned); only a ``StoreError`` and
        an interrupt (``BaseException``) leave this method, since they concern every video.
        """
        if self.stop_event.is_set() or self._abort.is_set():
            return VideoResult(ref.video_id, "waiting", "shutting down" if self.stop_event.is_set() else "not started: the pass stopped")
        try:
            self.progress.video_started(ref)
            records = self.ledger.stages_of(ref.video_id)
            blocked = None if retry_now else self._blocked(ref, records)
            result = VideoResult(ref.video_id, "waiting", blocked) if blocked else self._run_stages(ref, records, held, stages)
        except StoreError:
            raise
        except Exception as error:  # a failure outside the stages (hashing its input, the ledger, progress)
            result = self._failed(ref, "transcript", error, None)
        try:
            self.progress.video_done(ref, result)
        except StoreError:
            raise
        except Exception:
            logger.warning("progress display failed for %s", ref.video_id, exc_info=True)
        return result

    def _failed(self, ref: VideoRef, stage: str, error: Exception, earlier: StageRecord | None) -> VideoResult:
        """Record ``error`` as the stage's failure (when the ledger can) and return it as a result."""
        try:
            reason = record_failure(self.ledger, self.settings, ref.video_id, stage, error, earlier, self.clock).reason
        except Exception:  # the ledger itself failed: the result still says why
            reason = classify(error).reason
        if not isinstance(error, VideoFailure):  # not one we understood: keep the traceback for a maintainer
            logger.warning("%s failed at %s", ref.video_id, stage, exc_info=(type(error), error, error.__traceback__))
        return VideoResult(ref.video_id, "failed", reason, failed_stage=stage)

    def _blocked(self, ref: VideoRef, records: dict[str, StageRecord]) -> str | None:
        """Why this video waits instead of being retried now; a changed transcript input lifts any wait."""
        inputs = {"transcript": self.stages.transcript_input(ref)}
        return blocked_reason(records, inputs, now=self.clock(), max_attempts=self.settings.retry_max_attempts)

    def _run_stages(
        self, ref: VideoRef, records: dict[str, StageRecord], held: set[str] | None, stages: tuple[str, ...] = WORK_STAGES
    ) -> VideoResult:
        """Every stage in order; a failure is recorded in the ledger and returned, never raised (a ``StoreError`` is)."""
        result = VideoResult(ref.video_id, "indexed")
        stage = stages[0]
        try:
            for stage in stages:
                self.progress.stage(ref, stage)
                if self.stages.run(stage, ref, result, held):
                    result.stages_run.append(stage)
        except StoreError:
            raise
        except Exception as error:
            failed = self._failed(ref, stage, error, records.get(stage))
            failed.stages_run = result.stages_run
            return failed
        if result.status == "indexed" and not result.stages_run:
            result.status = "unchanged"
        return result

    # -- rebuild ------------------------------------------------------------------------------------

    def rebuild(self) -> SyncReport:
        """Recreate the index from what the data dir keeps: every ledger video indexed again into this engine's store.

        Give the engine a store opened for rebuilding (``open_store(settings, rebuild=True)``): it
        starts empty and its first save replaces the file, damaged or not. A video whose cleaned
        sentences are still in the data dir is indexed from them (its source files may be gone);
        the others go through every stage from their source. The index is saved at the end even
        when no video could be indexed, so a damaged file never survives a rebuild.
        """
        started = time.perf_counter()
        report = SyncReport()
        records = self.ledger.all_stages()
        saved: list[VideoRef] = []
        rest: list[str] = []
        for ref in self.ledger.videos():
            cleaned = records.get(ref.video_id, {}).get("cleaned")
            path = self.resources.cleaned_dir / f"{ref.video_id}.json"
            if cleaned is not None and cleaned.status in SATISFIED and cleaned.output_hash and file_hash(path) == cleaned.output_hash:
                saved.append(ref)
            else:
                rest.append(ref.video_id)
        report.listed = len(saved) + len(rest)
        if saved:
            nothing_held: set[str] = set()  # every video is indexed again, whatever the ledger says
            run = functools.partial(self._process_video_safely, held=nothing_held, retry_now=True, stages=("summarized", "indexed"))
            self._run_all(saved, run, report)
        if rest:
            self.process(video_ids=rest, report=report, retry_now=True)
        if getattr(self.resources.bundle.store, "has_unsaved_changes", False):  # nothing indexed: still replace the damaged file
            with self.saves.lock:
                self.saves.flush_locked(force=True)
        report.seconds = time.perf_counter() - started
        return report

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
                source = self.resources.source_for(ref.source_id)
                assert isinstance(source, YouTubeSource)
                captions = source.fetch_captions(ref)
            except Exception as error:
                logger.info("caption re-check of %s failed: %s", ref.video_id, classify(error).reason)
                continue
            if captions is None:
                continue
            self.stages.replace_transcript(ref, captions, record.input_hash)
            replaced.append(ref.video_id)
        if replaced:
            self.process(video_ids=replaced)
        return replaced


def _keep_enrichment(previous: VideoRef, listed: VideoRef) -> VideoRef:
    """Flat listings lack publish dates; keep what full metadata told us earlier."""
    return VideoRef(
        **{
            **listed.__dict__,
            "published": listed.published or previous.published,
            "duration_s": listed.duration_s or previous.duration_s,
        }
    )
