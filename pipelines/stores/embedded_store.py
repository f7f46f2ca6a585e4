"""The embedded document store: Haystack's InMemoryDocumentStore, persisted, shared by processes, with fast vectors.

What the stock store lacks for a bot that must start from disk, answer in milliseconds and keep
every video whichever commands run at the same time:
- persistence that is atomic and checked (``pipelines.stores.store_file``: one ``.npz`` written to a
  unique temp file and renamed in a single ``os.replace``, with a checksum read back on every load, no
  pickle): a crash or a full disk mid-save leaves the previous index, and a damaged file raises
  ``StoreCorruptError`` naming the repair (``course-ta ingest --rebuild``) instead of a traceback;
- several writers (``course-ta ingest`` while the scheduler syncs): each store remembers the documents
  it wrote and deleted since its last save, and ``save`` takes the inter-process writer lock
  (``pipelines.stores.writer_lock``), re-reads the file if another process saved since, applies only
  its own changes on top and writes the result, so no writer's videos overwrite another's;
- readers that follow the writers: every read (retrieval, filter, count) checks the file's identity
  (one ``stat``) and, when another process saved, reloads it, keeping any changes of its own not yet
  saved, so ``serve`` answers from videos a CLI ingest added after it started;
- dense retrieval that does not rebuild the embedding matrix on every query (measured ~60 ms of a
  ~200 ms query on 7,700 chunks): the normalised matrix is cached until the next write or delete;
- BM25 that does not score every document in Python on every query (the stock BM25L loop is the
  slowest part of a hybrid query on 8,000 chunks): bm25s keeps a sparse index, with English
  stop words and Snowball stemming so "padding" finds "pad", rebuilt after a write or delete.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import bm25s
import numpy as np
import Stemmer
from haystack import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import DuplicatePolicy
from haystack.utils.filters import document_matches_filter

from pipelines.stores.errors import StoreCorruptError
from pipelines.stores.store_file import (
    FORMAT_VERSION,
    STORE_FILE,
    SaveHook,
    Signature,
    Snapshot,
    current_signature,
    read_header,
    read_snapshot,
    remove_orphan_temps,
    write_snapshot,
)
from pipelines.stores.writer_lock import DEFAULT_TIMEOUT_S, WriterLock

# bm25s sets its own logger to DEBUG at import, which would print "Building index" on every start.
logging.getLogger("bm25s").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)

__all__ = ["FORMAT_VERSION", "STORE_FILE", "PersistentInMemoryDocumentStore"]


class PersistentInMemoryDocumentStore(InMemoryDocumentStore):
    """InMemoryDocumentStore that loads from and saves to ``directory``, merges with other writers and caches its vectors.

    ``rebuild=True`` starts empty without reading the file (which may be damaged) and makes the next
    save replace it instead of merging into it. ``lock_timeout`` is how long a save waits for another
    process's save before raising ``StoreBusyError``.
    """

    # Fault-injection point (tests): called during every save with a step name and a path; see store_file.
    save_hook: ClassVar[SaveHook | None] = None

    def __init__(
        self, directory: str | Path | None = None, *, rebuild: bool = False, lock_timeout: float = DEFAULT_TIMEOUT_S, **kwargs: Any
    ) -> None:
        kwargs.setdefault("embedding_similarity_function", "cosine")
        kwargs.setdefault("return_embedding", False)
        kwargs.setdefault("shared", False)  # documents belong to this instance (reloads swap them in one assignment)
        super().__init__(**kwargs)
        self.directory = Path(directory) if directory is not None else None
        self._matrix: tuple[np.ndarray, list[Document]] | None = None
        self._bm25: tuple[bm25s.BM25, list[Document]] | None = None
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._stemmer = Stemmer.Stemmer("english")
        # This writer's changes since its last save (what it merges into the file), and which save it last saw.
        self._state = threading.RLock()
        self._pending_writes: dict[str, Document] = {}
        self._pending_deletes: set[str] = set()
        self._cleared = rebuild
        self._generation = 0
        self._save_id = ""
        self._signature: Signature | None = None
        self._bad_signature: Signature | None = None
        self._writer_lock = WriterLock(self.directory, lock_timeout) if self.directory is not None else None
        if self.directory is not None and not rebuild and (self.directory / STORE_FILE).exists():
            self._adopt(read_snapshot(self.directory / STORE_FILE))

    def to_dict(self) -> dict[str, Any]:
        """Serialise with the directory, so the restored store loads the same file."""
        data = super().to_dict()
        data["init_parameters"]["directory"] = str(self.directory) if self.directory is not None else None
        return data

    # -- persistence -------------------------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The store file, or None for a store that is never persisted."""
        return self.directory / STORE_FILE if self.directory is not None else None

    @property
    def has_unsaved_changes(self) -> bool:
        """True when this store wrote or deleted documents (or was emptied) since its last save."""
        return bool(self._pending_writes or self._pending_deletes or self._cleared)

    @property
    def generation(self) -> int:
        """How many saves the file this store last read or wrote had seen (0: none)."""
        return self._generation

    def save(self) -> None:
        """Merge this store's changes into the file on disk under the writer lock, then replace it atomically.

        Another process's saves since this store last read the file are kept: the file is read again
        and only this store's own writes and deletes are applied on top. Raises ``StoreWriteError``
        (disk full, not writable) with the previous file intact, ``StoreBusyError`` when another
        writer holds the lock too long, ``StoreCorruptError`` when the file to merge into is damaged.
        """
        if self.directory is None or self._writer_lock is None:
            return
        path = self.directory / STORE_FILE
        with self._state, self._writer_lock.hold():
            remove_orphan_temps(self.directory)  # under the lock, any temp file belongs to a writer that died
            generation = self._generation
            if path.exists():
                if self._cleared:  # a rebuild replaces whatever is there, damaged or not
                    try:
                        generation = max(generation, int((read_header(path) or {}).get("generation", 0)))
                    except StoreCorruptError:
                        pass
                else:
                    header = read_header(path)
                    if header is None or header.get("save_id") != self._save_id:
                        self._adopt(read_snapshot(path))
                    generation = max(self._generation, int((header or {}).get("generation", 0)))
            written = write_snapshot(path, list(self.storage.values()), generation + 1, hook=type(self).save_hook)
            self._generation, self._save_id, self._signature = written.generation, written.save_id, written.signature
            self._pending_writes.clear()
            self._pending_deletes.clear()
            self._cleared = False
            self._bad_signature = None

    def refresh(self) -> bool:
        """Reload the file if another process saved it since this store read it; True when it did.

        This store's unsaved changes stay applied on top. A damaged file is logged once and the
        documents read before keep serving (the next save reports it).
        """
        path = self.path
        if path is None or self._cleared:  # a rebuild ignores the old file (it may be the damaged one)
            return False
        signature = current_signature(path)
        if signature is None or signature in (self._signature, self._bad_signature):
            return False
        with self._state:
            signature = current_signature(path)
            if signature is None or signature in (self._signature, self._bad_signature):
                return False
            try:
                snapshot = read_snapshot(path)
            except StoreCorruptError as error:
                logger.error("%s; using the documents read before", error)
                self._bad_signature = signature
                return False
            except FileNotFoundError:
                return False
            return self._adopt(snapshot)

    def _adopt(self, snapshot: Snapshot) -> bool:
        """Make ``snapshot`` this store's base with this store's unsaved changes on top; True when documents changed."""
        with self._state:
            unchanged = bool(snapshot.save_id) and snapshot.save_id == self._save_id
            if unchanged or self._cleared:  # the same save, or a rebuild that ignores the old file
                self._signature = snapshot.signature
                return False
            documents = dict(snapshot.documents)
            for document_id in self._pending_deletes:
                documents.pop(document_id, None)
            documents.update(self._pending_writes)
            self._install(documents)
            self._generation, self._save_id, self._signature = snapshot.generation, snapshot.save_id, snapshot.signature
            return True

    def _install(self, documents: dict[str, Document]) -> None:
        """Swap in a whole new set of documents in one assignment (queries in flight keep the old set)."""
        if self._shared:
            super().delete_all_documents()
            super().write_documents(list(documents.values()), policy=DuplicatePolicy.OVERWRITE)
        else:
            # bm25s replaces Haystack's BM25 statistics here, so they are not rebuilt for a reload.
            self._local_storage = documents
            self._local_bm25_attr = {}
            self._local_avg_doc_len = 0.0
            self._local_freq_vocab_for_idf = Counter()
        self._drop_caches()

    def _drop_caches(self) -> None:
        self._matrix = self._bm25 = None
        self._masks = {}

    # -- writes: tracked for the merge, dropping the caches --------------------------------------

    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Write as Haystack does, remembering the documents for the next save and dropping the caches."""
        with self._state:
            self._drop_caches()
            try:
                return super().write_documents(documents, policy=policy)
            finally:
                stored = self.storage
                for document in documents if isinstance(documents, list) else []:
                    if stored.get(document.id) is document:
                        self._pending_writes[document.id] = document
                        self._pending_deletes.discard(document.id)

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete as Haystack does, remembering the ids for the next save and dropping the caches."""
        with self._state:
            self._drop_caches()
            super().delete_documents(document_ids)
            for document_id in document_ids:
                self._pending_writes.pop(document_id, None)
                self._pending_deletes.add(document_id)

    def delete_all_documents(self) -> None:
        """Empty the store; the next save replaces the file instead of merging into it."""
        with self._state:
            self._drop_caches()
            super().delete_all_documents()
            self._pending_writes.clear()
            self._pending_deletes.clear()
            self._cleared = True

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Update metadata as Haystack does, remembering the changed documents for the next save."""
        with self._state:
            self._drop_caches()
            matching = self.filter_documents(filters)
            count = super().update_by_filter(filters, meta)
            for document in matching:
                if document.id in self.storage:
                    self._pending_writes[document.id] = self.storage[document.id]
                    self._pending_deletes.discard(document.id)
            return count

    # -- reads: pick up other processes' saves first ---------------------------------------------

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """Haystack's filter over the newest saved index plus this store's unsaved changes."""
        self.refresh()
        return super().filter_documents(filters)

    def count_documents(self) -> int:
        """How many documents the newest saved index plus this store's unsaved changes hold."""
        self.refresh()
        return super().count_documents()

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        """Haystack's count over the newest saved index plus this store's unsaved changes."""
        self.refresh()
        return super().count_documents_by_filter(filters)

    def count_unique_metadata_by_filter(self, filters: dict[str, Any], metadata_fields: list[str]) -> dict[str, int]:
        """Haystack's unique-value counts over the newest saved index plus this store's unsaved changes."""
        self.refresh()
        return super().count_unique_metadata_by_filter(filters, metadata_fields)

    # -- fast dense retrieval ----------------------------------------------------------------

    def _vectors(self) -> tuple[np.ndarray, list[Document]]:
        dense = self._matrix
        if dense is None:  # one tuple, so a query never pairs one reload's matrix with another's documents
            docs = [d for d in self.storage.values() if d.embedding is not None]
            matrix = np.asarray([d.embedding for d in docs], dtype=np.float32).reshape(len(docs), -1)
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            dense = self._matrix = (matrix / np.where(norms == 0, 1, norms), docs)
        return dense

    def embedding_retrieval(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool | None = False,
    ) -> list[Document]:
        """Cosine top-k from the cached normalised matrix (filters applied first); other similarities use Haystack's."""
        self.refresh()
        if self.embedding_similarity_function != "cosine":
            return super().embedding_retrieval(query_embedding, filters, top_k, scale_score, return_embedding)
        matrix, docs = self._vectors()
        if not docs:
            return []
        query = np.asarray(query_embedding, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        scores = matrix @ query
        allowed = len(docs)
        if filters:
            mask = self._mask("dense", docs, filters)
            scores = np.where(mask, scores, -np.inf)
            allowed = int(mask.sum())
        k = min(top_k, allowed)
        if k <= 0:
            return []
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        results = []
        for row in best:
            score = float(scores[row])
            if scale_score:
                score = (score + 1) / 2
            document = docs[row]
            results.append(
                Document(
                    id=document.id,
                    content=document.content,
                    meta=document.meta,
                    score=score,
                    embedding=document.embedding if return_embedding else None,
                )
            )
        return results

    # -- fast BM25 ---------------------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> list[list[str]]:
        return bm25s.tokenize(texts, stopwords="en", stemmer=self._stemmer, return_ids=False, show_progress=False)

    def _bm25_index(self) -> tuple[bm25s.BM25, list[Document]]:
        if self._bm25 is None:
            docs = [d for d in self.storage.values() if d.content]
            index = bm25s.BM25()
            if docs:
                index.index(self._tokenize([d.content or "" for d in docs]), show_progress=False)
            self._bm25 = (index, docs)
        return self._bm25

    def bm25_retrieval(
        self, query: str, filters: dict[str, Any] | None = None, top_k: int = 10, scale_score: bool = False
    ) -> list[Document]:
        """Top-k by bm25s over stemmed, stop-word-free content; documents scoring zero are left out."""
        if not query or not query.strip():
            raise ValueError("Query should be a non-empty string")
        self.refresh()
        index, docs = self._bm25_index()
        tokens = self._tokenize([query])
        if not docs or not tokens[0]:
            return []
        mask = self._mask("bm25", docs, filters) if filters else None
        allowed = int(mask.sum()) if mask is not None else len(docs)
        if allowed == 0:
            return []
        rows, scores = index.retrieve(
            tokens,
            k=min(top_k, allowed),
            show_progress=False,
            n_threads=1,
            weight_mask=mask.astype(np.float32) if mask is not None else None,
        )
        results = []
        for row, score in zip(rows[0], scores[0], strict=True):
            if score <= 0:
                continue
            document = docs[int(row)]
            value = float(score)
            if scale_score:
                value = 1 / (1 + np.exp(-value / 8))  # Haystack's BM25 scaling
            results.append(Document(id=document.id, content=document.content, meta=document.meta, score=value))
        return results

    # -- filters -------------------------------------------------------------------------------

    def _mask(self, index: str, docs: list[Document], filters: dict[str, Any]) -> np.ndarray:
        """Which rows of an index match ``filters``; the query pipeline asks the same filter every
        time (chunks only), so the mask is computed once per filter and index and kept until a write."""
        key = (index, json.dumps(filters, sort_keys=True, default=str))
        mask = self._masks.get(key)
        if mask is None or len(mask) != len(docs):  # a reload may swap the documents while a query runs
            InMemoryDocumentStore._validate_filters(filters)
            mask = np.fromiter((document_matches_filter(filters, d) for d in docs), dtype=bool, count=len(docs))
            self._masks[key] = mask
        return mask
