"""The hashes that decide whether a stage is current, and whether a video needs any work at all.

A stage is current when the ledger recorded it finishing with the same input hash that is computed
now from what it depends on (files, settings, the previous stage's output hash). Any change to one
of those changes the hash, so that stage and, through its new output, every later one run again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from pipelines.corpus.sources.video_ref import LOCAL, YOUTUBE, VideoRef
from pipelines.freshness.ledger import StageRecord
from pipelines.settings import Settings

CLEAN_VERSION = "clean-1"  # bump when cleaning changes, so every video is re-cleaned once


def sha(*parts: object) -> str:
    """Stable hash of any JSON-able parts: the ledger's input hashes."""
    payload = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def file_hash(path: Path) -> str | None:
    """SHA-256 of a file's bytes, or None when it cannot be read (a stage output that was deleted)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def transcript_input(settings: Settings, ref: VideoRef, transcribe_media: bool) -> str:
    """What the transcript stage depends on: the files' fingerprint, or the captions settings."""
    if ref.kind == LOCAL:
        return sha(LOCAL, ref.fingerprint, settings.always_transcribe and transcribe_media)
    return sha(YOUTUBE, ref.video_id, settings.caption_language_list, settings.allow_auto_captions, settings.always_transcribe)


def clean_input(transcript_hash: str | None, repunctuation: str = "") -> str:
    """``repunctuation`` names the LLM that repunctuates (empty offline), so configuring one re-cleans."""
    if repunctuation:
        return sha(transcript_hash, CLEAN_VERSION, repunctuation)
    return sha(transcript_hash, CLEAN_VERSION)


def summary_input(settings: Settings, cleaned_hash: str | None) -> str:
    """What the summary depends on: the sentences and who summarizes (LLM or extractive)."""
    if not settings.summaries:
        return sha(cleaned_hash, "summary-none")
    from pipelines.llm.client import llm_configured

    method = f"llm:{settings.llm_model}" if llm_configured(settings) else "extractive"
    return sha(cleaned_hash, "summary", method)


def index_input(settings: Settings, ref: VideoRef, cleaned_hash: str | None, summary_hash: str = "") -> str:
    """What the indexed documents depend on: sentences, chunking, model, title/link/series, summary."""
    s = settings
    if summary_hash:  # the summary is indexed with the chunks: a new summary re-indexes the video
        return sha(cleaned_hash, s.chunk_words, s.chunk_overlap_words, s.embedding_model, ref.title, ref.url, ref.series, summary_hash)
    return sha(cleaned_hash, s.chunk_words, s.chunk_overlap_words, s.embedding_model, ref.title, ref.url, ref.series)


def is_current(
    settings: Settings, ref: VideoRef, records: dict[str, StageRecord], *, transcribe_media: bool, repunctuation: Callable[[], str]
) -> bool:
    """True when every stage finished with the input it would have now, so the video needs no work.

    ``repunctuation`` is asked only once the transcript is found current, because answering it may
    build the LLM enricher.
    """
    transcript, cleaned, indexed = records.get("transcript"), records.get("cleaned"), records.get("indexed")
    if transcript is None or cleaned is None or indexed is None:
        return False
    summarized = records.get("summarized")
    summary_hash = ""
    if settings.summaries:
        if summarized is None or not summarized.satisfied_by(summary_input(settings, cleaned.output_hash)):
            return False
        summary_hash = summarized.output_hash or ""
    # A YouTube transcript stays valid even if the transcript input changed only by re-listing.
    return (
        transcript.satisfied_by(transcript_input(settings, ref, transcribe_media))
        and cleaned.satisfied_by(clean_input(transcript.output_hash, repunctuation()))
        and indexed.satisfied_by(index_input(settings, ref, cleaned.output_hash, summary_hash))
    )
