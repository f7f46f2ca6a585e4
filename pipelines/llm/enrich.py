"""The LLM stages as ingest and sync use them: transcript → sentences (repunctuated when needed),
sentences → stored summary → ``kind=summary`` documents.

One :class:`Enricher` per run holds the client (and so the run's token budget), the cache and the
embedder for extractive summaries, all created on first use so an offline run without summaries
loads nothing. Summaries already stored for the same sentences and method are reused unread by
any model, so re-running an ingest costs a file read per video.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from haystack import Document

from pipelines.corpus.sentences import segments_to_sentences
from pipelines.domain import Segment, Sentence, Video
from pipelines.llm.cache import LLMCache
from pipelines.llm.client import LLMClient, Usage, llm_configured
from pipelines.llm.repunctuate import RepunctuationResult, repunctuate
from pipelines.llm.summaries import (
    EXTRACTIVE,
    SentenceVectors,
    VideoSummary,
    load_summary,
    save_summary,
    source_hash,
    summarize,
    summary_documents,
)
from pipelines.settings import Settings

logger = logging.getLogger(__name__)


class Enricher:
    """The LLM stages for one ingest or sync: one client (and token budget), one cache, one embedder."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.cache = LLMCache.for_settings(settings)
        self.client: LLMClient | None = LLMClient(settings) if llm_configured(settings) else None
        self._embedder: Any = None
        self._lock = threading.Lock()

    def new_run(self) -> None:
        """A new sync pass: a fresh token budget."""
        if self.client is not None:
            self.client.usage = Usage(budget_tokens=self.settings.llm_budget_tokens)

    # -- repunctuation ------------------------------------------------------------------------

    @property
    def repunctuation_key(self) -> str:
        """What decides the cleaned output besides the transcript (part of the sync ledger hash)."""
        if self.client is not None and self.settings.llm_repunctuate:
            return f"{self.client.name}@{self.settings.llm_window}"
        return ""

    def sentences(self, segments: list[Segment]) -> tuple[list[Sentence], RepunctuationResult | None]:
        """Timed sentences, repunctuated when an LLM and repunctuation are enabled; the result is None offline."""
        if self.client is None or not self.settings.llm_repunctuate:
            return segments_to_sentences(segments), None
        result = repunctuate(segments, self.client, self.cache, self.settings.llm_window)
        return result.sentences, result

    # -- summaries ----------------------------------------------------------------------------

    @property
    def summary_method(self) -> str:
        """``llm:<model>`` with an LLM, else ``extractive``: part of a stored summary's source hash."""
        return self.client.name if self.client is not None else EXTRACTIVE

    @property
    def embedder(self) -> Any:
        """The document embedder for extractive summaries, loaded and warmed up on first use."""
        with self._lock:
            if self._embedder is None:
                from pipelines.search.embedders import document_embedder

                self._embedder = document_embedder(self.settings, with_title=False)
                self._embedder.warm_up()
            return self._embedder

    def summary(self, video: Video, sentences: list[Sentence], vectors: SentenceVectors | None = None) -> VideoSummary:
        """The stored summary when it was made from these sentences by this method, else a new one.

        ``vectors`` (see :func:`extractive_summary`) is asked only when an extractive summary is made.
        """
        wanted = source_hash(video, sentences, self.summary_method)
        stored = load_summary(self.settings, video.video_id)
        if stored is not None and stored.source_hash == wanted and not stored.reasons:
            if (stored.url, stored.title) != (video.url, video.title):
                stored.url, stored.title = video.url, video.title
                save_summary(self.settings, stored)
            return stored
        summary = summarize(
            video,
            sentences,
            embedder=self.embedder,
            client=self.client,
            cache=self.cache,
            window_words=self.settings.llm_window,
            vectors=vectors,
        )
        summary.source_hash = wanted
        save_summary(self.settings, summary)
        return summary

    def summary_documents(self, video: Video, summary: VideoSummary) -> list[Document]:
        """The ``kind=summary`` documents to index for ``summary``."""
        return summary_documents(video, summary, self.settings.embedding_model)
