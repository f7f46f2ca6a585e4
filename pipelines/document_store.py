"""Which document store the app talks to, and the retrievers that go with it.

Embedded (default): a persisted InMemoryDocumentStore under the data dir, no server needed.
Elasticsearch (when ``COURSE_TA_ELASTICSEARCH_URL`` is set): elasticsearch-haystack with the same
document meta, so the indexing and query pipelines are identical apart from these components.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from haystack.utils import Secret

from pipelines.embedded_store import PersistentInMemoryDocumentStore
from pipelines.settings import Settings

# Meta fields we filter and group on are exact keywords; sentence timing arrays are stored, not indexed.
ELASTICSEARCH_MAPPING: dict[str, Any] = {
    "properties": {
        "content": {"type": "text", "analyzer": "english"},
        "embedding": {"type": "dense_vector", "index": True, "similarity": "cosine"},
        "video_id": {"type": "keyword"},
        "kind": {"type": "keyword"},
        "source": {"type": "keyword"},
        "title": {"type": "text", "analyzer": "english", "fields": {"raw": {"type": "keyword"}}},
        "url": {"type": "keyword", "index": False},
        "start_s": {"type": "float"},
        "end_s": {"type": "float"},
        "chunk_index": {"type": "integer"},
        "sentence_offsets": {"type": "integer", "index": False},
        "sentence_starts": {"type": "float", "index": False},
        "sentence_ends": {"type": "float", "index": False},
    }
}


@dataclass
class StoreBundle:
    """A document store with its BM25 and embedding retrievers and a way to persist it."""

    store: Any
    name: str

    def bm25_retriever(self, top_k: int) -> Any:
        if self.name == "elasticsearch":
            from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchBM25Retriever

            return ElasticsearchBM25Retriever(document_store=self.store, top_k=top_k)
        from haystack.components.retrievers.in_memory import InMemoryBM25Retriever

        return InMemoryBM25Retriever(document_store=self.store, top_k=top_k)

    def embedding_retriever(self, top_k: int) -> Any:
        if self.name == "elasticsearch":
            from haystack_integrations.components.retrievers.elasticsearch import ElasticsearchEmbeddingRetriever

            return ElasticsearchEmbeddingRetriever(document_store=self.store, top_k=top_k)
        from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever

        return InMemoryEmbeddingRetriever(document_store=self.store, top_k=top_k)

    def save(self) -> None:
        """Embedded stores write themselves to disk; Elasticsearch has already persisted every write."""
        if isinstance(self.store, PersistentInMemoryDocumentStore):
            self.store.save()

    def ids_by_video(self) -> dict[str, set[str]]:
        """Every stored document id grouped by video, read once, for incremental re-indexing."""
        grouped: dict[str, set[str]] = {}
        for document in self.store.filter_documents():
            grouped.setdefault(str(document.meta.get("video_id")), set()).add(document.id)
        return grouped


def open_store(settings: Settings) -> StoreBundle:
    if settings.elasticsearch_url:
        from haystack_integrations.document_stores.elasticsearch import ElasticsearchDocumentStore

        auth: dict[str, Any] = {}
        if settings.elasticsearch_api_key is not None:
            auth["api_key"] = Secret.from_token(settings.elasticsearch_api_key.get_secret_value())
        else:
            auth["api_key"] = None
            auth["api_key_id"] = None
        if settings.elasticsearch_username and settings.elasticsearch_password is not None:
            auth["basic_auth"] = (settings.elasticsearch_username, settings.elasticsearch_password.get_secret_value())
        store = ElasticsearchDocumentStore(
            hosts=settings.elasticsearch_url,
            index=settings.elasticsearch_index,
            custom_mapping=ELASTICSEARCH_MAPPING,
            embedding_similarity_function="cosine",
            **auth,
        )
        return StoreBundle(store=store, name="elasticsearch")
    return StoreBundle(store=PersistentInMemoryDocumentStore(settings.store_dir), name="embedded")
