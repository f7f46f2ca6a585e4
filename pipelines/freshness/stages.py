"""The four stages a pass runs for each video, and what each writes under the data dir.

    transcript   transcripts/<id>.json   captions │ transcript file │ faster-whisper, as Whisper-style JSON
    cleaned      cleaned/<id>.json       timed sentences as [text, start, end] rows
    summarized   summaries/<id>.json     summary paragraph and salient points (LLM, else extractive)
    indexed      the document store      chunk and summary documents, marked done after the store is saved

A stage whose ledger record holds today's input hash (and whose output file still has the
recorded hash) returns at once. Otherwise it records its start, writes its output atomically and
only then records its finish with both hashes, so a killed process redoes at most the stage it was in.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from pipelines.atomic_file import write_text_atomically
from pipelines.corpus.chunking import chunk_documents
from pipelines.corpus.discovery import read_best_transcript
from pipelines.corpus.sentences import segments_to_sentences
from pipelines.corpus.sources.video_ref import LOCAL, VideoRef
from pipelines.corpus.sources.youtube import Captions, YouTubeSource
from pipelines.corpus.transcription.formats import segments_payload
from pipelines.corpus.transcription.probe import probe_media
from pipelines.corpus.transcripts import TranscriptError, parse_transcript
from pipelines.domain import Sentence
from pipelines.freshness.faults import VideoFailure
from pipelines.freshness.inputs import clean_input, file_hash, index_input, sha, summary_input, transcript_input
from pipelines.freshness.ledger import EMBEDDED_WITH, SKIPPED, StageRecord
from pipelines.freshness.reports import VideoResult
from pipelines.freshness.resources import SyncResources
from pipelines.freshness.saving import SavePolicy
from pipelines.search.late_chunking import LATE

MEDIA_ONLY = "media without a transcript file (transcribe it with `course-ta transcribe` or `course-ta sync`)"

# Segments, how they were made, their language and any warnings about the source.
ProducedTranscript = tuple[list[Any], str, str, list[str]]


class VideoStages:
    """Runs one video's stages on the shared resources; each stage says whether it did any work.

    ``transcribe_media=False`` (``course-ta ingest``) reads transcript files only and fails media
    without one with ``MEDIA_ONLY`` instead of transcribing it.
    """

    def __init__(self, resources: SyncResources, saves: SavePolicy, transcribe_media: bool) -> None:
        self.resources = resources
        self.settings = resources.settings
        self.ledger = resources.ledger
        self.saves = saves
        self.transcribe_media = transcribe_media

    def transcript_input(self, ref: VideoRef) -> str:
        """The transcript stage's input hash for ``ref`` under this engine's settings and mode."""
        return transcript_input(self.settings, ref, self.transcribe_media)

    def run(self, stage: str, ref: VideoRef, result: VideoResult, held: set[str] | None) -> bool:
        """Run one stage if its input changed; True when it did work.

        ``held`` holds the videos the store has documents for (None: unknown); a video missing from
        it is indexed again whatever the ledger says.
        """
        records = self.ledger.stages_of(ref.video_id)
        if stage == "transcript":
            return self.transcript(ref, records.get("transcript"))
        transcript = records["transcript"]
        if stage == "cleaned":
            return self.clean(ref, transcript, records.get("cleaned"))
        cleaned = records["cleaned"]
        if stage == "summarized":
            return self.summary(ref, cleaned, records.get("summarized"))
        summarized = records.get("summarized")
        summary_hash = (summarized.output_hash or "") if self.settings.summaries and summarized is not None else ""
        in_store = held is None or ref.video_id in held
        return self.index(ref, cleaned, records.get("indexed") if in_store else None, result, summary_hash)

    # -- transcript ---------------------------------------------------------------------------------

    def transcript(self, ref: VideoRef, record: StageRecord | None) -> bool:
        """Read, fetch or transcribe the transcript unless the stored one came from the same input."""
        wanted = self.transcript_input(ref)
        path = self.resources.transcripts_dir / f"{ref.video_id}.json"
        if record is not None and record.satisfied_by(wanted) and file_hash(path) == record.output_hash:
            return False
        self.ledger.start(ref.video_id, "transcript", wanted)
        started = time.perf_counter()
        segments, method, language, warnings = self._produce_transcript(ref)
        payload = segments_payload(segments, video_id=ref.video_id, method=method, language=language)
        output = write_text_atomically(path, json.dumps(payload, ensure_ascii=False))
        self.ledger.finish(
            ref.video_id, "transcript", wanted, output, f"{method} ({time.perf_counter() - started:.1f}s)", warnings=warnings
        )
        return True

    def replace_transcript(self, ref: VideoRef, captions: Captions, input_hash: str | None) -> None:
        """Put captions in place of a Whisper transcript; the cleaned stage then sees a new input and runs again."""
        payload = segments_payload(
            _caption_segments(captions.to_json()), video_id=ref.video_id, method=captions.method, language=captions.language_code
        )
        output = write_text_atomically(self.resources.transcripts_dir / f"{ref.video_id}.json", json.dumps(payload, ensure_ascii=False))
        self.ledger.finish(ref.video_id, "transcript", input_hash or self.transcript_input(ref), output, f"{captions.method} (re-check)")

    def _produce_transcript(self, ref: VideoRef) -> ProducedTranscript:
        """Segments, how they were made, their language and any warnings about the source."""
        if ref.kind == LOCAL:
            return self._local_transcript(ref)
        source = self.resources.source_for(ref.source_id)
        assert isinstance(source, YouTubeSource)
        if not self.settings.always_transcribe:  # captions first: human captions beat Whisper, and cost nothing
            captions = source.fetch_captions(ref)
            if captions is not None:
                return _caption_segments(captions.to_json()), captions.method, captions.language_code, []
        info = source.video_info(ref)
        enriched = source.enrich(ref, info)
        if enriched != ref:
            self.ledger.record_listed(enriched)
        audio = source.download_audio(enriched, self.resources.audio_dir)
        try:
            return (*self._transcribe(audio), [])
        finally:
            if not self.settings.keep_audio:
                audio.unlink(missing_ok=True)

    def _local_transcript(self, ref: VideoRef) -> ProducedTranscript:
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
        probe_media(media)  # junk media fails here, before the first video that needs Whisper loads it
        prompt = self.resources.vocabulary_prompt()
        with self.resources.transcribe_gate:
            result = self.resources.transcriber.transcribe_file(media, prompt)
        if not result.segments:
            raise VideoFailure(f"no speech detected in {media.name} ({result.audio_s:.0f}s of audio)", retryable=False)
        return result.segments, f"transcribed:{result.model}{':batched' if result.batched else ''}", result.language

    # -- cleaned, summarized ------------------------------------------------------------------------

    def clean(self, ref: VideoRef, transcript: StageRecord, record: StageRecord | None) -> bool:
        """Cut the transcript into timed sentences (repunctuated by the LLM when one is configured)."""
        repunctuation = self.resources.repunctuation_key
        wanted = clean_input(transcript.output_hash, repunctuation)
        path = self.resources.cleaned_dir / f"{ref.video_id}.json"
        if record is not None and record.satisfied_by(wanted) and file_hash(path) == record.output_hash:
            return False
        self.ledger.start(ref.video_id, "cleaned", wanted)
        text = (self.resources.transcripts_dir / f"{ref.video_id}.json").read_text(encoding="utf-8")
        try:
            parsed = parse_transcript(text, ".json")
        except TranscriptError as error:
            raise VideoFailure(f"transcript is empty after cleaning: {error}", retryable=False) from None
        detail = ""
        warnings: list[str] = []
        if repunctuation:  # an LLM repunctuates unpunctuated transcripts; a failed window keeps the offline cut
            sentences, result = self.resources.enricher.sentences(parsed.segments)
            if result is not None:
                detail = f", {result.method} ({result.windows_llm}/{result.windows} windows)"
                if result.reasons:
                    warnings.append(
                        f"repunctuation fell back to offline for {len(result.reasons)} of {result.windows} window(s): {result.reasons[0]}"
                    )
        else:
            sentences = segments_to_sentences(parsed.segments)
        rows = [[s.text, s.start, s.end] for s in sentences]
        output = write_text_atomically(path, json.dumps(rows, ensure_ascii=False))
        self.ledger.finish(ref.video_id, "cleaned", wanted, output, f"{len(rows)} sentences{detail}", warnings=warnings)
        return True

    def summary(self, ref: VideoRef, cleaned: StageRecord, record: StageRecord | None) -> bool:
        """Summary paragraph and salient points (LLM, else extractive), stored under summaries/."""
        from pipelines.llm.summaries import summary_path

        wanted = summary_input(self.settings, cleaned.output_hash)
        if not self.settings.summaries:
            if record is not None and record.satisfied_by(wanted):
                return False
            self.ledger.finish(
                ref.video_id, "summarized", wanted, "", "summaries are switched off (COURSE_TA_SUMMARIES=false)", status=SKIPPED
            )
            return False
        path = summary_path(self.settings, ref.video_id)
        if record is not None and record.satisfied_by(wanted) and file_hash(path) == record.output_hash:
            return False
        self.ledger.start(ref.video_id, "summarized", wanted)
        vectors = self._pooled_vectors(ref) if self.settings.sentence_vectors == LATE else None
        summary = self.resources.enricher.summary(ref.to_video(), self._sentences(ref.video_id), vectors)
        note = f"; LLM not used: {summary.reasons[0]}" if summary.reasons else ""
        warnings = [f"summary is extractive: {summary.reasons[0]}"] if summary.reasons else []
        self.ledger.finish(
            ref.video_id,
            "summarized",
            wanted,
            file_hash(path) or "",
            f"{summary.method}: {len(summary.points)} points{note}",
            warnings=warnings,
        )
        return True

    def _pooled_vectors(self, ref: VideoRef) -> Any:
        """Late chunking: the summary's sentence vectors come from the chunk passes indexing reuses next (one pass per chunk)."""
        from pipelines.search.sentence_vectors import vectors_from_passes

        def vectors(texts: list[str]) -> Any:
            embedder = self.resources.indexer.embedder
            return vectors_from_passes(embedder, self._chunks(ref), texts, lambda: self.resources.enricher.embedder)

        return vectors

    def _sentences(self, video_id: str) -> list[Sentence]:
        """The cleaned stage's output read back."""
        rows = json.loads((self.resources.cleaned_dir / f"{video_id}.json").read_text(encoding="utf-8"))
        return [Sentence(text=row[0], start=row[1], end=row[2]) for row in rows]

    # -- indexed ------------------------------------------------------------------------------------

    def index(self, ref: VideoRef, cleaned: StageRecord, record: StageRecord | None, result: VideoResult, summary_hash: str) -> bool:
        """Chunk, embed and write the video's documents; the ledger marks it indexed after the next save.

        Sets ``result.chunks`` and ``result.change`` (added, updated, or unchanged when the store
        already held exactly these documents).
        """
        wanted = index_input(self.settings, ref, cleaned.output_hash, summary_hash)
        if record is not None and record.satisfied_by(wanted):
            return False
        documents = self._documents(ref, summary_hash, result)
        indexer = self.resources.indexer
        self.ledger.start(ref.video_id, "indexed", wanted)
        with self.saves.lock:
            had_documents = bool(indexer.existing_ids(ref.video_id))
            outcome = indexer.index_video(ref.video_id, documents)
            if outcome.added == 0 and outcome.removed == 0:
                result.change = "unchanged"  # the store already held exactly these documents
            else:
                result.change = "updated" if had_documents else "added"
            detail = f"{len(documents)} chunks (+{outcome.added} -{outcome.removed}){EMBEDDED_WITH}{self.settings.embedding_model}"
            self.saves.indexed_locked(ref.video_id, wanted, sha(sorted(d.id for d in documents)), detail)
        return True

    def _documents(self, ref: VideoRef, summary_hash: str, result: VideoResult) -> list[Any]:
        """The video's chunk documents (counted in ``result.chunks``) plus its summary documents when summarized."""
        documents = self._chunks(ref)
        result.chunks = len(documents)
        if summary_hash:  # the stored summary as kind=summary documents, replaced with the video's chunks
            from pipelines.llm.summaries import load_summary, summary_documents

            summary = load_summary(self.settings, ref.video_id)
            if summary is not None:
                documents += summary_documents(ref.to_video(), summary, self.settings.embedding_model)
        return documents

    def _chunks(self, ref: VideoRef) -> list[Any]:
        """The video's chunk documents, as indexing embeds them (the summary stage asks for the same ones)."""
        return chunk_documents(
            ref.to_video(),
            self._sentences(ref.video_id),
            chunk_words=self.settings.chunk_words,
            overlap_words=self.settings.chunk_overlap_words,
            embedding_model=self.settings.embedding_model,
        )


def _caption_segments(raw_json: str) -> list[Any]:
    try:
        return parse_transcript(raw_json, ".json").segments
    except TranscriptError as error:
        raise VideoFailure(f"captions could not be parsed: {error}", retryable=False) from None
