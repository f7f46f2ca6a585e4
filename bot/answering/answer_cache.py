"""Answers already given, reused while nothing they depend on has changed.

A class asks the same question many times ("what is BM25?" before every assignment). The answer
depends on the question and the thread history, on the index, and on the answer settings, so the
key holds all three: the normalised question and history, the index version (it changes on every
re-ingest or save, see :func:`index_version`), and a fingerprint of the settings that shape answers.
Entries also expire after a time, for stores whose version cannot see every change.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.domain import Answer, Turn
from pipelines.settings import Settings
from pipelines.settings.llm import LlmSettings
from pipelines.settings.models import ModelSettings
from pipelines.settings.retrieval import RetrievalSettings
from pipelines.stores.document_store import StoreBundle

# Settings outside these (tokens, ports, voice) do not change what an answer says.
_ANSWER_SETTINGS = tuple(sorted({*RetrievalSettings.model_fields, *ModelSettings.model_fields, *LlmSettings.model_fields}))


def normalise_question(question: str) -> str:
    """Case and spacing do not change an answer (the embedding model and BM25 both lowercase)."""
    return " ".join(question.split()).casefold()


def settings_fingerprint(settings: Settings) -> str:
    """A digest of every setting that shapes an answer (retrieval, models, LLM); secrets count by their presence."""
    values = settings.model_dump(include=set(_ANSWER_SETTINGS))
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]


def index_version(bundle: StoreBundle) -> tuple[Any, ...]:
    """Something that changes whenever the index does: a re-ingest, a save, a write in this process.

    A store that exposes a ``generation`` counter is trusted for it; the embedded store is also
    versioned by its document count and its file's modification time and size (every save
    replaces the file); for any other store the document count is all there is, and the cache's
    time limit covers changes that keep the count.
    """
    store = bundle.store
    generation = getattr(store, "generation", None)
    version: tuple[Any, ...] = (bundle.name, store.count_documents(), generation)
    path = getattr(store, "path", None)
    if path is not None:
        try:
            stat = path.stat()
        except OSError:
            return (*version, None, None)
        return (*version, stat.st_mtime_ns, stat.st_size)
    return version


def cache_key(question: str, history: Sequence[Turn], version: tuple[Any, ...], fingerprint: str) -> str:
    """The key for one question in one thread, against one index, under one configuration."""
    turns = [[normalise_question(t.question), t.answer] for t in history]
    raw = json.dumps([normalise_question(question), turns, list(version), fingerprint], default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class CacheStats:
    """Counters since the cache was made (for logs and tests)."""

    hits: int = 0
    misses: int = 0
    stored: int = 0


class AnswerCache:
    """Least-recently-used answers, at most ``size`` of them, each for at most ``ttl_s`` seconds; thread-safe.

    ``size`` 0 turns the cache off. A stored or returned answer is a copy, so a front door that
    edits its answer never changes what the next student gets.
    """

    def __init__(self, size: int, ttl_s: float) -> None:
        self.size = size
        self.ttl_s = ttl_s
        self.stats = CacheStats()
        self._entries: OrderedDict[str, tuple[float, Answer]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """False when configured with size 0."""
        return self.size > 0

    def get(self, key: str, question: str) -> Answer | None:
        """The stored answer for ``key`` with ``question`` as asked this time, or None."""
        if not self.enabled:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and self.ttl_s > 0 and time.monotonic() - entry[0] > self.ttl_s:
                del self._entries[key]
                entry = None
            if entry is None:
                self.stats.misses += 1
                return None
            self._entries.move_to_end(key)
            self.stats.hits += 1
        answer = copy.deepcopy(entry[1])
        answer.question = question
        return answer

    def put(self, key: str, answer: Answer) -> None:
        """Remember ``answer`` under ``key``, dropping the least recently used beyond ``size``."""
        if not self.enabled:
            return
        stored = copy.deepcopy(answer)
        with self._lock:
            self._entries[key] = (time.monotonic(), stored)
            self._entries.move_to_end(key)
            self.stats.stored += 1
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        """Answers held now."""
        with self._lock:
            return len(self._entries)
