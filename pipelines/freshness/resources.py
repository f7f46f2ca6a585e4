"""What every video of a pass shares, each part built once on first use: the store, the indexer, Whisper, the LLM.

Building them lazily keeps a pass with nothing to do cheap (no embedder or Whisper model loaded),
and one lock makes parallel sync workers build each part only once.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from pipelines.corpus.sources.registry import VideoSource, build_source
from pipelines.corpus.sources.video_ref import YOUTUBE
from pipelines.freshness.ledger import Ledger
from pipelines.settings import Settings


class SyncResources:
    """The ledger, the data directories and the heavy parts one engine shares across videos and workers.

    ``bundle`` and ``transcriber`` may be given (tests, the benchmark); the rest is built on first use.
    ``youtube_options`` are passed to every YouTube source built here (tests point them at fakes).
    """

    def __init__(
        self,
        settings: Settings,
        ledger: Ledger,
        *,
        bundle: Any = None,
        transcriber: Any = None,
        youtube_options: dict[str, Any] | None = None,
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.youtube_options = youtube_options or {}
        self._bundle = bundle
        self._indexer: Any = None
        self._transcriber = transcriber
        self._enricher: Any = None
        self._prompt: str | None = None
        self._prompt_ready = False
        self._lock = threading.Lock()  # one builder per part, even when several workers ask at once
        # Whisper is memory-hungry: at most this many transcriptions run at once, whatever the worker count.
        self.transcribe_gate = threading.Semaphore(settings.transcription_concurrency)

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
        with self._lock:
            return self._bundle_locked()

    def _bundle_locked(self) -> Any:
        if self._bundle is None:
            from pipelines.stores.document_store import open_store

            self._bundle = open_store(self.settings)
        return self._bundle

    @property
    def bundle_if_open(self) -> Any:
        """The store if it was opened already, else None: a store nobody opened has nothing to save."""
        return self._bundle

    @property
    def indexer(self) -> Any:
        """Embed-and-write pipeline over the store, warmed up on first use."""
        with self._lock:
            if self._indexer is None:
                from pipelines.stores.indexing import Indexer

                self._indexer = Indexer(self.settings, self._bundle_locked())
                self._indexer.warm_up()
            return self._indexer

    @property
    def indexer_if_built(self) -> Any:
        """The indexer if it was built already, else None (so removing videos loads no embedder)."""
        return self._indexer

    @property
    def transcriber(self) -> Any:
        """faster-whisper, loaded on the first video that needs it."""
        with self._lock:
            if self._transcriber is None:
                from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber

                self._transcriber = FasterWhisperTranscriber.from_settings(self.settings)
            self._transcriber.warm_up()
            return self._transcriber

    @property
    def enricher(self) -> Any:
        """Repunctuation, summaries and the LLM client with this pass's token budget."""
        with self._lock:
            if self._enricher is None:
                from pipelines.llm.enrich import Enricher

                self._enricher = Enricher(self.settings)
            return self._enricher

    @property
    def enricher_if_built(self) -> Any:
        """The enricher if it was built already, else None."""
        return self._enricher

    @property
    def repunctuation_key(self) -> str:
        """The repunctuating LLM and window, or empty when sentences are cut offline."""
        from pipelines.llm.client import llm_configured

        if not (self.settings.llm_repunctuate and llm_configured(self.settings)):
            return ""
        return self.enricher.repunctuation_key

    # -- sources and the Whisper prompt ------------------------------------------------------------

    def source_for(self, source_id: str) -> VideoSource:
        """The live source object for a ledger source; raises ``KeyError`` for an unknown one."""
        source = self.ledger.source(source_id)
        if source is None:
            raise KeyError(f"no source {source_id} in the ledger")
        options = self.youtube_options if source.kind == YOUTUBE else {}
        return build_source(source, self.settings, **options)

    def vocabulary_prompt(self) -> str | None:
        """Titles plus cleaned transcripts seen so far → the Whisper initial prompt (computed once)."""
        with self._lock:
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
