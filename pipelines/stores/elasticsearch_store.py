"""ElasticsearchDocumentStore with our index layout, alias pinning and retried bulk writes.

Three things the stock store does not do:
- create the index with *our* settings and mapping (dims from the embedding model, int8 HNSW,
  english analyzer, keyword meta) behind an alias (see ``pipelines.stores.elasticsearch_index``);
- pin the concrete index behind the alias when it first connects, so a process keeps reading and
  writing the index whose vectors match its own embedding model while a re-index swaps the alias
  (restarted processes pick up the new index);
- retry bulk items Elasticsearch rejects with 429 (write queue full) with exponential backoff,
  instead of failing a whole ingest run on a momentarily busy node.

It stays lazy like the parent: nothing connects until the first read or write. When the cluster
cannot be reached (down, wrong URL, TLS or credentials refused), every read and write raises
:class:`StoreUnavailableError` naming the server (never its credentials) and the fix, so commands print
one line and the bots give their usual polite failure instead of a transport traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from elastic_transport import ConnectionError as TransportConnectionError
from elastic_transport import ConnectionTimeout, TlsError
from elasticsearch import AuthenticationException, AuthorizationException, Elasticsearch, helpers
from haystack import Document
from haystack.document_stores.errors import DocumentStoreError, DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack_integrations.document_stores.elasticsearch import ElasticsearchDocumentStore

from pipelines.stores import elasticsearch_index as es_index
from pipelines.stores.errors import StoreUnavailableError

logger = logging.getLogger(__name__)

START_HINT = "start it (docker compose -f infra/docker-compose.yml up -d elasticsearch) or fix COURSE_TA_ELASTICSEARCH_URL"


def safe_hosts(hosts: Any) -> str:
    """The configured host(s) as they can be printed: user and password taken out of every URL."""
    items = hosts if isinstance(hosts, list | tuple) else [hosts]
    shown = []
    for host in items:
        text = str(host.get("host", host)) if isinstance(host, dict) else str(host)
        try:
            parts = urlsplit(text) if "://" in text else None
        except ValueError:
            parts = None
        if parts is not None:
            text = urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", ""))
        else:  # not a URL with a scheme: still never print what precedes an '@'
            text = text.rsplit("@", 1)[-1]
        shown.append(text)
    return ", ".join(shown) or "(no host configured)"


@contextmanager
def unavailable_as_store_error(hosts: Any) -> Iterator[None]:
    """Turn "the cluster cannot be reached or refuses us" into :class:`StoreUnavailableError` with the fix."""
    where = safe_hosts(hosts)
    try:
        yield
    except TlsError as error:
        raise StoreUnavailableError(
            f"Elasticsearch at {where}: TLS failed ({error.message}); set COURSE_TA_ELASTICSEARCH_CA_CERTS "
            "(or COURSE_TA_ELASTICSEARCH_CA_FINGERPRINT) to the cluster's certificate"
        ) from None
    except (TransportConnectionError, ConnectionTimeout) as error:
        kind = "timed out" if isinstance(error, ConnectionTimeout) else "cannot be reached"
        raise StoreUnavailableError(f"Elasticsearch at {where} {kind}: {START_HINT}; `course-ta doctor` checks it") from None
    except AuthenticationException:
        raise StoreUnavailableError(
            f"Elasticsearch at {where} rejected the credentials (401): set COURSE_TA_ELASTICSEARCH_API_KEY "
            "or COURSE_TA_ELASTICSEARCH_USERNAME and _PASSWORD"
        ) from None
    except AuthorizationException:
        raise StoreUnavailableError(
            f"Elasticsearch at {where} refused access (403): grant the API key or user the monitor cluster privilege "
            "and all privileges on the course-ta* indices"
        ) from None


class CourseElasticsearchStore(ElasticsearchDocumentStore):
    """``index`` is the alias name; ``self._index`` becomes the concrete index once connected."""

    def __init__(
        self,
        *,
        embedding_model: str,
        shards: int = 1,
        replicas: int = 0,
        bulk_chunk_size: int = 500,
        bulk_max_retries: int = 5,
        bulk_initial_backoff: float = 1.0,
        pin_index: bool = True,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("custom_mapping", {"properties": dict(es_index.BASE_PROPERTIES)})
        kwargs.setdefault("embedding_similarity_function", es_index.SIMILARITY)
        super().__init__(**kwargs)
        self.alias = self._index
        self.embedding_model = embedding_model
        self.shards = shards
        self.replicas = replicas
        self.bulk_chunk_size = bulk_chunk_size
        self.bulk_max_retries = bulk_max_retries
        self.bulk_initial_backoff = bulk_initial_backoff
        self.pin_index = pin_index

    @property
    def index(self) -> str:
        """The concrete index in use (the alias until the first connection)."""
        return self._index

    def _ensure_initialized(self) -> None:
        if self._client is not None:
            return
        with unavailable_as_store_error(self._hosts):
            self._connect()

    def _connect(self) -> None:
        client = Elasticsearch(self._hosts, api_key=self._handle_auth(), headers=self._headers, **self._kwargs)
        version = es_index.server_version(client)  # raises on a cluster too old or unreachable
        concrete = es_index.ensure_index(
            client,
            self.alias,
            lambda: es_index.IndexLayout(
                dims=es_index.embedding_dimension(self.embedding_model),
                embedding_model=self.embedding_model,
                server_version=version,
                shards=self.shards,
                replicas=self.replicas,
            ),
        )
        if self.pin_index:
            self._index = concrete
        self._client = client
        logger.info("Elasticsearch %d.%d: %s -> index %s", version[0], version[1], self.alias, concrete)

    async def _ensure_initialized_async(self) -> None:
        self._ensure_initialized()  # the index and alias are set up once, synchronously
        await super()._ensure_initialized_async()

    # Every read the app makes, wrapped so an unreachable cluster is a StoreUnavailableError with the fix.
    def count_documents(self) -> int:
        """How many documents the index holds."""
        with unavailable_as_store_error(self._hosts):
            return super().count_documents()

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        """How many documents match ``filters``."""
        with unavailable_as_store_error(self._hosts):
            return super().count_documents_by_filter(filters)

    def count_unique_metadata_by_filter(self, filters: dict[str, Any], metadata_fields: list[str]) -> dict[str, int]:
        """Distinct values per metadata field among the documents matching ``filters``."""
        with unavailable_as_store_error(self._hosts):
            return super().count_unique_metadata_by_filter(filters, metadata_fields)

    def _search_documents(self, **kwargs: Any) -> list[Document]:
        # BM25, vector and filter retrieval all search through here.
        with unavailable_as_store_error(self._hosts):
            return super()._search_documents(**kwargs)

    def delete_documents(self, document_ids: list[str], refresh: Literal["wait_for", True, False] = "wait_for") -> None:
        """Delete documents by id."""
        with unavailable_as_store_error(self._hosts):
            super().delete_documents(document_ids, refresh=refresh)

    def to_dict(self) -> dict[str, Any]:
        """Serialisable without secrets: basic-auth credentials are dropped (API keys are Secrets)."""
        data = super().to_dict()
        params = data["init_parameters"]
        params.pop("basic_auth", None)
        params["index"] = self.alias
        params.update(
            embedding_model=self.embedding_model,
            shards=self.shards,
            replicas=self.replicas,
            bulk_chunk_size=self.bulk_chunk_size,
            bulk_max_retries=self.bulk_max_retries,
            bulk_initial_backoff=self.bulk_initial_backoff,
            pin_index=self.pin_index,
        )
        return data

    def write_documents(
        self,
        documents: list[Document],
        policy: DuplicatePolicy = DuplicatePolicy.NONE,
        refresh: Literal["wait_for", True, False] = "wait_for",
    ) -> int:
        """Bulk-write in chunks; 429-rejected items are retried, other item errors raise at the end."""
        if documents and not isinstance(documents[0], Document):
            raise ValueError("param 'documents' must contain a list of objects of type Document")
        if policy == DuplicatePolicy.NONE:
            policy = DuplicatePolicy.FAIL
        action = "index" if policy == DuplicatePolicy.OVERWRITE else "create"
        actions = []
        for document in documents:
            source = document.to_dict()
            for field in ("embedding", "blob", "score", "sparse_embedding"):
                if source.get(field) is None:
                    source.pop(field, None)
            actions.append({"_op_type": action, "_id": document.id, "_source": source})
        with unavailable_as_store_error(self._hosts):
            written, duplicates, failures = self._bulk(actions, policy, refresh)
        if duplicates:
            raise DuplicateDocumentError(f"IDs '{', '.join(map(str, duplicates))}' already exist in the document store.")
        if failures:
            first = failures[0].get("error", {})
            raise DocumentStoreError(
                f"{len(failures)} of {len(actions)} documents were not written to {self._index} "
                f"(first: {first.get('type')}: {first.get('reason')})"
            )
        return written

    def _bulk(
        self, actions: list[dict[str, Any]], policy: DuplicatePolicy, refresh: Literal["wait_for", True, False]
    ) -> tuple[int, list[Any], list[dict[str, Any]]]:
        """(written, duplicate ids, other failed items) of one streamed bulk write."""
        written, duplicates, failures = 0, [], []
        for ok, item in helpers.streaming_bulk(
            self.client,
            actions,
            index=self._index,
            refresh=refresh,
            chunk_size=self.bulk_chunk_size,
            max_retries=self.bulk_max_retries,
            initial_backoff=self.bulk_initial_backoff,
            max_backoff=60.0,
            raise_on_error=False,
            yield_ok=True,
        ):
            result = next(iter(item.values()))
            if ok:
                written += 1
            elif result.get("error", {}).get("type") == "version_conflict_engine_exception":
                if policy == DuplicatePolicy.FAIL:
                    duplicates.append(result.get("_id"))
            else:
                failures.append(result)
        return written, duplicates, failures
