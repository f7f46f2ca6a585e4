"""The Haystack indexing pipeline: keep only what changed, embed it, write it, drop what is stale.

    IncrementalDiff ──documents──► document embedder ──► SentenceVectorizer ──► DocumentWriter
          └──────────stale_ids──────────────────────────────────────────────────────► StaleRemover

The sentence vectorizer stores each chunk's sentence vectors in its meta (same model as the chunk,
see :mod:`pipelines.search.sentence_vectors`), so answering never embeds a sentence. With
``COURSE_TA_SENTENCE_VECTORS=late`` the embedder already pooled them from the chunk's own forward pass
(:mod:`pipelines.search.late_chunking`) and the vectorizer keeps those.

Document ids are content hashes (see ``pipelines.corpus.chunking``), so for one video the set of new ids
against the set already stored says exactly what to embed and what to delete. New chunks are
written before old ones are removed: a crash in between leaves extra chunks, never missing ones,
and the next run removes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haystack import Document, Pipeline, component
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DocumentStore, DuplicatePolicy

from pipelines.search.embedders import document_embedder
from pipelines.search.sentence_vectors import attach, embedder_space
from pipelines.settings import Settings
from pipelines.stores.document_store import StoreBundle


@component
class IncrementalDiff:
    """Split a video's fresh documents into those to embed and the stored ids that are now stale."""

    @component.output_types(documents=list[Document], stale_ids=list[str], unchanged=int)
    def run(self, documents: list[Document], existing_ids: list[str]) -> dict:
        """Documents not stored yet, stored ids the video no longer has, and how many stay as they are."""
        existing = set(existing_ids)
        fresh = {d.id for d in documents}
        new_documents = [d for d in documents if d.id not in existing]
        stale = sorted(existing - fresh)
        return {"documents": new_documents, "stale_ids": stale, "unchanged": len(fresh & existing)}


@component
class SentenceVectorizer:
    """Store each chunk's sentence vectors with it, embedded by ``embedder`` (the chunk embedder itself: one model loaded).

    A late-chunking embedder has stored them already; those chunks are passed through untouched.
    """

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder

    def warm_up(self) -> None:
        """Load the model (shared with the chunk embedder, so this costs nothing more)."""
        if hasattr(self.embedder, "warm_up"):
            self.embedder.warm_up()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict:
        """The same documents, chunks now carrying ``sentence_vectors`` in meta."""
        return {"documents": attach(documents, self.embedder, embedder_space(self.embedder))}


@component
class StaleRemover:
    """Delete a video's documents that the new version no longer has, after the writer is done."""

    def __init__(self, document_store: DocumentStore) -> None:
        self.document_store = document_store

    @component.output_types(removed=int)
    def run(self, stale_ids: list[str], documents_written: int) -> dict:
        """Delete ``stale_ids``; ``documents_written`` is taken only so this runs after the writer."""
        if stale_ids:
            self.document_store.delete_documents(stale_ids)
        return {"removed": len(stale_ids)}


@dataclass
class IndexResult:
    """What indexing one video changed, in documents."""

    added: int
    removed: int
    unchanged: int


class Indexer:
    """Indexes one video at a time; ``ids_by_video`` is read from the store once per run."""

    def __init__(self, settings: Settings, bundle: StoreBundle) -> None:
        self.bundle = bundle
        self.pipeline = Pipeline()
        self.pipeline.add_component("diff", IncrementalDiff())
        embedder = document_embedder(settings)
        self.embedder = embedder  # the summary stage runs its chunk passes ahead of indexing (late chunking)
        self.pipeline.add_component("embedder", embedder)
        self.pipeline.add_component("sentences", SentenceVectorizer(embedder))
        self.pipeline.add_component("writer", DocumentWriter(document_store=bundle.store, policy=DuplicatePolicy.OVERWRITE))
        self.pipeline.add_component("remover", StaleRemover(bundle.store))
        self.pipeline.connect("diff.documents", "embedder.documents")
        self.pipeline.connect("embedder.documents", "sentences.documents")
        self.pipeline.connect("sentences.documents", "writer.documents")
        self.pipeline.connect("diff.stale_ids", "remover.stale_ids")
        self.pipeline.connect("writer.documents_written", "remover.documents_written")
        self._existing: dict[str, set[str]] | None = None

    def warm_up(self) -> None:
        """Load the embedding model before the first video."""
        self.pipeline.warm_up()

    def existing_ids(self, video_id: str) -> set[str]:
        """The stored ids of one video (empty when none), from a read of the store made once per Indexer."""
        if self._existing is None:
            self._existing = self.bundle.ids_by_video()
        return self._existing.get(video_id, set())

    def is_current(self, video_id: str, documents: list[Document]) -> bool:
        """True when the store already holds exactly these documents: nothing to do."""
        return {d.id for d in documents} == self.existing_ids(video_id)

    def index_video(self, video_id: str, documents: list[Document]) -> IndexResult:
        """Make the store hold exactly ``documents`` for this video: embed and write the new ones, then delete the stale."""
        existing = self.existing_ids(video_id)
        if {d.id for d in documents} == existing:
            return IndexResult(added=0, removed=0, unchanged=len(existing))
        result = self.pipeline.run(
            {"diff": {"documents": documents, "existing_ids": sorted(existing)}},
            include_outputs_from={"diff", "writer"},
        )
        assert self._existing is not None
        self._existing[video_id] = {d.id for d in documents}
        return IndexResult(
            added=result["writer"]["documents_written"],
            removed=result["remover"]["removed"],
            unchanged=result["diff"]["unchanged"],
        )
