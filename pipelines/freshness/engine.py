"""The sync orchestrator: walk every listed video through the ledger stages into the index.

    poll:    source.list_videos() ──► ledger.record_listed()
    process: transcript (captions │ transcript file │ faster-whisper) ──► cleaned ──► summarized
             (skipped until summaries exist) ──► indexed (foundation chunking + ``Indexer``)

Each stage writes its output atomically under the data dir (temp file, fsync, rename) *before*
the ledger marks it done with the hash of its input and output, so whatever moment the process
dies, a restart either trusts a finished stage or redoes it from scratch; indexing is idempotent
because document ids are content hashes. A video whose ledger hashes all match is skipped without
opening a file, which makes an unchanged sync of hundreds of videos a single SQLite query.

Failures are caught per video and per stage, classified (``pipelines.freshness.faults``) and recorded;
retryable ones wait with exponential backoff, the rest wait until the video's input changes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Protocol

from pipelines.corpus.chunking import chunk_documents
from pipelines.corpus.sentences import segments_to_sentences
from pipelines.corpus.sources.registry import VideoSource, build_source
from pipelines.corpus.sources.video_ref import LOCAL, YOUTUBE, VideoRef
from pipelines.corpus.sources.youtube import YouTubeSource
from pipelines.corpus.transcription.formats import segments_payload
from pipelines.corpus.transcripts import TranscriptError, parse_transcript
from pipelines.domain import Sentence
from pipelines.freshness.faults import VideoFailure, backoff_seconds, classify
from pipelines.freshness.ingest import VideoFiles, read_best_transcript
from pipelines.freshness.ledger import EMBEDDED_WITH, FAILED, SKIPPED, Ledger, StageRecord
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

CLEAN_VERSION = "clean-1"  # bump when cleaning changes, so every video is re-cleaned once
SAVE_EVERY_VIDEOS = 10
SAVE_EVERY_SECONDS = 30.0
WORK_STAGES = ("transcript", "cleaned", "summarized", "indexed")


def sha(*parts: object) -> str:
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


class Progress(Protocol):
    def video_started(self, ref: VideoRef) -> None: ...
    def stage(self, ref: VideoRef, stage: str) -> None: ...
    def video_done(self, ref: VideoRef, outcome: VideoResult) -> None: ...


@dataclass
class VideoResult:
    video_id: str
    status: str  # unchanged | indexed | failed | waiting
    reason: str = ""
    stages_run: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    listed: int = 0
    new_or_changed: int = 0
    results: list[VideoResult] = field(default_factory=list)
    source_errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)


class SyncRunner:
    """One sync engine per process: shares the ledger, the store, the embedder and Whisper."""

    def __init__(
        self,
        settings: Settings,
        *,
        ledger: Ledger | None = None,
        bundle: Any = None,
        youtube_options: dict[str, Any] | None = None,
        transcriber: Any = None,
        progress: Progress | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger or Ledger.open(settings)
        self._bundle = bundle
        self._indexer: Any = None
        self._transcriber = transcriber
        self.youtube_options = youtube_options or {}
        self.progress = progress
        self._index_lock = threading.Lock()
        self._transcribe_gate = threading.Semaphore(settings.transcription_concurrency)
        self._init_lock = threading.Lock()
        self._unsaved: list[tuple[str, str, str, str]] = []
        self._last_save = time.monotonic()
        self._prompt: str | None = None
        self._prompt_ready = False
        self.stop_event = threading.Event()  # set on shutdown: finish the current video, start no new one
        self._enricher: Any = None  # issue 4: repunctuation and summaries (pipelines/llm)

    # -- directories ------------------------------------------------------------------------------

    @property
    def transcripts_dir(self) -> Path:
        return self.settings.data_dir / "transcripts"

    @property
    def cleaned_dir(self) -> Path:
        return self.settings.data_dir / "cleaned"

    @property
    def audio_dir(self) -> Path:
        return self.settings.data_dir / "audio"

    # -- lazily built heavy parts -------------------------------------------------------------------

    @property
    def indexer(self) -> Any:
        with self._init_lock:
            if self._indexer is None:
                from pipelines.stores.document_store import open_store
                from pipelines.stores.indexing import Indexer

                if self._bundle is None:
                    self._bundle = open_store(self.settings)
                self._indexer = Indexer(self.settings, self._bundle)
                self._indexer.warm_up()
            return self._indexer

    @property
    def transcriber(self) -> Any:
        with self._init_lock:
            if self._transcriber is None:
                from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber

                self._transcriber = FasterWhisperTranscriber.from_settings(self.settings)
            self._transcriber.warm_up()
            return self._transcriber

    @property
    def enricher(self) -> Any:
        """Repunctuation, summaries and the LLM client with this run's token budget (issue 4)."""
        with self._init_lock:
            if self._enricher is None:
                from pipelines.llm.enrich import Enricher

                self._enricher = Enricher(self.settings)
            return self._enricher

    def source_for(self, source_id: str) -> VideoSource:
        source = self.ledger.source(source_id)
        if source is None:
            raise KeyError(f"no source {source_id} in the ledger")
        options = self.youtube_options if source.kind == YOUTUBE else {}
        return build_source(source, self.settings, **options)

    # -- poll ----------------------------------------------------------------------------------------

    def poll(self, source_ids: list[str] | None = None, report: SyncReport | None = None) -> SyncReport:
        """List every source (or the given ones) and record new or changed videos."""
        report = report or SyncReport()
        for source in self.ledger.sources():
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
        return report

    # -- process -------------------------------------------------------------------------------------

    def process(self, video_ids: list[str] | None = None, report: SyncReport | None = None) -> SyncReport:
        """Bring every listed video (or the given ones) up to date; one failure never stops the rest."""
        report = report or SyncReport()
        if self._enricher is not None:
            self._enricher.new_run()  # the LLM token budget is per sync pass
        stages = self.ledger.all_stages()
        refs = [r for r in self.ledger.videos() if video_ids is None or r.video_id in video_ids]
        work: list[VideoRef] = []
        for ref in refs:
            if self._up_to_date(ref, stages.get(ref.video_id, {})):
                report.results.append(VideoResult(ref.video_id, "unchanged"))
            else:
                work.append(ref)
        if work:
            if self.settings.sync_workers > 1 and len(work) > 1:
                with ThreadPoolExecutor(max_workers=self.settings.sync_workers, thread_name_prefix="sync") as pool:
                    report.results.extend(pool.map(self._process_video_safely, work))
            else:
                report.results.extend(self._process_video_safely(ref) for ref in work)
            self.flush()
        return report

    def sync_once(self) -> SyncReport:
        started = time.perf_counter()
        report = self.poll()
        self.process(report=report)
        report.seconds = time.perf_counter() - started
        return report

    def flush(self) -> None:
        """Save the embedded store, then mark the videos it now holds as indexed."""
        with self._index_lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._unsaved:
            return
        if self._bundle is not None:
            self._bundle.save()
        for video_id, input_hash, output_hash, detail in self._unsaved:
            self.ledger.finish(video_id, "indexed", input_hash, output_hash, detail)
        self._unsaved.clear()
        self._last_save = time.monotonic()

    # -- hashes that decide what is current -------------------------------------------------------

    def transcript_input(self, ref: VideoRef) -> str:
        if ref.kind == LOCAL:
            return sha(LOCAL, ref.fingerprint, self.settings.always_transcribe)
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
        s = self.settings
        if summary_hash:  # the summary is indexed with the chunks: a new summary re-indexes the video
            return sha(cleaned_hash, s.chunk_words, s.chunk_overlap_words, s.embedding_model, ref.title, ref.url, ref.series, summary_hash)
        return sha(cleaned_hash, s.chunk_words, s.chunk_overlap_words, s.embedding_model, ref.title, ref.url, ref.series)

    @property
    def repunctuation_key(self) -> str:
        from pipelines.llm.client import llm_configured

        if not (self.settings.llm_repunctuate and llm_configured(self.settings)):
            return ""
        return self.enricher.repunctuation_key

    def summary_input(self, cleaned_hash: str | None) -> str:
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
        now = time.time()
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

    def _process_video_safely(self, ref: VideoRef) -> VideoResult:
        if self.stop_event.is_set():
            return VideoResult(ref.video_id, "waiting", "shutting down")
        if self.progress:
            self.progress.video_started(ref)
        records = self.ledger.stages_of(ref.video_id)
        blocked = self._blocked(records, {"transcript": self.transcript_input(ref)})
        if blocked:
            result = VideoResult(ref.video_id, "waiting", blocked)
        else:
            result = VideoResult(ref.video_id, "indexed")
            stage = "transcript"
            try:
                for stage in WORK_STAGES:
                    if self.progress:
                        self.progress.stage(ref, stage)
                    if self._run_stage(stage, ref, result):
                        result.stages_run.append(stage)
            except BaseException as error:
                if not isinstance(error, Exception):
                    raise
                fault = classify(error)
                attempts = self.ledger.stage(ref.video_id, stage) or records.get(stage)
                count = attempts.attempts if attempts else 1
                retry_at = (
                    time.time() + backoff_seconds(count, self.settings.retry_base_seconds, self.settings.retry_max_seconds)
                    if fault.retryable
                    else None
                )
                self.ledger.fail(ref.video_id, stage, fault.reason, fault.retryable, retry_at)
                if not isinstance(error, VideoFailure):
                    logger.warning("%s failed at %s", ref.video_id, stage, exc_info=True)
                result = VideoResult(ref.video_id, "failed", f"{stage}: {fault.reason}", result.stages_run)
            if result.status == "indexed" and not result.stages_run:
                result.status = "unchanged"
        if self.progress:
            self.progress.video_done(ref, result)
        return result

    def _run_stage(self, stage: str, ref: VideoRef, result: VideoResult) -> bool:
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
        return self._index_stage(ref, cleaned, records.get("indexed"), summary_hash)

    # -- stages -----------------------------------------------------------------------------------

    def _transcript_stage(self, ref: VideoRef, record: StageRecord | None, force_captions: bool = False) -> bool:
        wanted = self.transcript_input(ref)
        path = self.transcripts_dir / f"{ref.video_id}.json"
        if record is not None and record.satisfied_by(wanted) and _file_hash(path) == record.output_hash:
            return False
        self.ledger.start(ref.video_id, "transcript", wanted)
        started = time.perf_counter()
        segments, method, language = self._produce_transcript(ref)
        payload = segments_payload(segments, video_id=ref.video_id, method=method, language=language)
        output = write_atomically(path, json.dumps(payload, ensure_ascii=False))
        self.ledger.finish(ref.video_id, "transcript", wanted, output, f"{method} ({time.perf_counter() - started:.1f}s)")
        return True

    def _produce_transcript(self, ref: VideoRef) -> tuple[list[Any], str, str]:
        always = self.settings.always_transcribe
        if ref.kind == LOCAL:
            if ref.transcript_paths and not (always and ref.media_path):
                paths = [Path(p) for p in ref.transcript_paths]
                files = VideoFiles(ref.video_id, paths[0].parent, transcripts=paths)
                try:
                    path, transcript, _ = read_best_transcript(files)
                except TranscriptError as error:
                    if not ref.media_path:
                        raise VideoFailure(f"unreadable transcript: {error}", retryable=False) from None
                else:
                    return transcript.segments, f"file:{path.name}", ""
            if not ref.media_path:
                raise VideoFailure("no transcript file and no media to transcribe", retryable=False)
            return self._transcribe(Path(ref.media_path))
        source = self.source_for(ref.source_id)
        assert isinstance(source, YouTubeSource)
        if not always:
            captions = source.fetch_captions(ref)
            if captions is not None:
                return _caption_segments(captions.to_json()), captions.method, captions.language_code
        info = source.video_info(ref)
        enriched = source.enrich(ref, info)
        if enriched != ref:
            self.ledger.record_listed(enriched)
        audio = source.download_audio(enriched, self.audio_dir)
        try:
            return self._transcribe(audio)
        finally:
            if not self.settings.keep_audio:
                audio.unlink(missing_ok=True)

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
        if repunctuation:  # an LLM repunctuates unpunctuated transcripts; a failed window keeps the offline cut
            sentences, result = self.enricher.sentences(parsed.segments)
            if result is not None:
                detail = f", {result.method} ({result.windows_llm}/{result.windows} windows)"
        else:
            sentences = segments_to_sentences(parsed.segments)
        rows = [[s.text, s.start, s.end] for s in sentences]
        output = write_atomically(path, json.dumps(rows, ensure_ascii=False))
        self.ledger.finish(ref.video_id, "cleaned", wanted, output, f"{len(rows)} sentences{detail}")
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
        self.ledger.finish(
            ref.video_id, "summarized", wanted, _file_hash(path) or "", f"{summary.method}: {len(summary.points)} points{note}"
        )
        return True

    def _index_stage(self, ref: VideoRef, cleaned: StageRecord, record: StageRecord | None, summary_hash: str = "") -> bool:
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
        if summary_hash:  # the stored summary as kind=summary documents, replaced with the video's chunks
            from pipelines.llm.summaries import load_summary, summary_documents

            summary = load_summary(self.settings, ref.video_id)
            if summary is not None:
                documents += summary_documents(ref.to_video(), summary, self.settings.embedding_model)
        indexer = self.indexer
        self.ledger.start(ref.video_id, "indexed", wanted)
        with self._index_lock:
            outcome = indexer.index_video(ref.video_id, documents)
            ids = sha(sorted(d.id for d in documents))
            self._unsaved.append(
                (
                    ref.video_id,
                    wanted,
                    ids,
                    f"{len(documents)} chunks (+{outcome.added} -{outcome.removed}){EMBEDDED_WITH}{self.settings.embedding_model}",
                )
            )
            if len(self._unsaved) >= SAVE_EVERY_VIDEOS or time.monotonic() - self._last_save > SAVE_EVERY_SECONDS:
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
