"""Which document store the app talks to, and the retrievers that go with it.

Embedded (default): a persisted InMemoryDocumentStore under the data dir, no server needed.
Elasticsearch (when ``COURSE_TA_ELASTICSEARCH_URL`` is set): elasticsearch-haystack with the same
document meta, so the indexing and query pipelines are identical apart from these components.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haystack.utils import Secret

from pipelines.settings import Settings
from pipelines.stores.elasticsearch_index import BASE_PROPERTIES, client_options
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from pipelines.stores.errors import StoreError

# The base field mapping; the full index body (dims, int8 HNSW, _meta, settings) is built by
# pipelines.stores.elasticsearch_index.IndexLayout when the index is first created.
ELASTICSEARCH_MAPPING: dict[str, Any] = {
    "properties": {**BASE_PROPERTIES, "embedding": {"type": "dense_vector", "index": True, "similarity": "cosine"}}
}


@dataclass
class StoreBundle:
    """A document store with its BM25 and embedding retrievers and a way to persist it."""

    store: Any
    name: str

    def bm25_retriever(self, top_k: int, filters: dict[str, Any] | None = None) -> Any:
        """The keyword retriever that reads this kind of store."""
        if self.name == "elasticsearch":
            from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchBM25Retriever

            return ElasticsearchBM25Retriever(document_store=self.store, top_k=top_k, filters=filters)
        from haystack.components.retrievers.in_memory import InMemoryBM25Retriever

        return InMemoryBM25Retriever(document_store=self.store, top_k=top_k, filters=filters)

    def embedding_retriever(self, top_k: int, filters: dict[str, Any] | None = None) -> Any:
        """The dense-vector retriever that reads this kind of store."""
        if self.name == "elasticsearch":
            from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchEmbeddingRetriever

            return ElasticsearchEmbeddingRetriever(document_store=self.store, top_k=top_k, filters=filters)
        from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever

        return InMemoryEmbeddingRetriever(document_store=self.store, top_k=top_k, filters=filters)

    def save(self) -> None:
        """Embedded stores write themselves to disk; Elasticsearch has already persisted every write."""
        if isinstance(self.store, PersistentInMemoryDocumentStore):
            self.store.save()

    def ids_by_video(self) -> dict[str, set[str]]:
        """Every stored document id grouped by video, read once, for incremental re-indexing."""
        grouped: dict[str, set[str]] = {}
        if self.name == "elasticsearch":
            # A scroll over ids and video_id only: no vectors over the wire, no 10,000-hit paging limit.
            from elasticsearch import helpers

            for hit in helpers.scan(self.store.client, index=self.store.index, _source=["video_id"], size=2000):
                grouped.setdefault(str(hit["_source"].get("video_id")), set()).add(hit["_id"])
            return grouped
        for document in self.store.filter_documents():
            grouped.setdefault(str(document.meta.get("video_id")), set()).add(document.id)
        return grouped


def open_store(settings: Settings, rebuild: bool = False) -> StoreBundle:
    """The configured store; Elasticsearch connects lazily on first use (see ``CourseElasticsearchStore``).

    ``rebuild=True`` opens the embedded index empty, without reading the file (it may be damaged),
    for ``course-ta ingest --rebuild``; its first save replaces the file. Elasticsearch keeps its
    own copies and is rebuilt with ``course-ta es reindex`` instead.
    """
    if rebuild and settings.elasticsearch_url:
        raise StoreError(
            "--rebuild recreates the embedded index; Elasticsearch is rebuilt with `course-ta es reindex` "
            "(or unset COURSE_TA_ELASTICSEARCH_URL to rebuild the embedded one)"
        )
    if settings.elasticsearch_url:
        from pipelines.stores.elasticsearch_store import CourseElasticsearchStore

        auth: dict[str, Any] = {"api_key": None, "api_key_id": None}  # never fall back to ELASTIC_API_KEY
        if settings.elasticsearch_api_key is not None:
            auth["api_key"] = Secret.from_token(settings.elasticsearch_api_key.get_secret_value())
        store = CourseElasticsearchStore(
            hosts=settings.elasticsearch_url,
            index=settings.elasticsearch_index,
            embedding_model=settings.embedding_model,
            shards=settings.elasticsearch_shards,
            replicas=settings.elasticsearch_replicas,
            bulk_chunk_size=settings.elasticsearch_bulk_chunk_size,
            bulk_max_retries=max(settings.elasticsearch_max_retries, 1),
            **auth,
            **client_options(settings),
        )
        return StoreBundle(store=store, name="elasticsearch")
    return StoreBundle(store=PersistentInMemoryDocumentStore(settings.store_dir, rebuild=rebuild), name="embedded")
