"""Copy the embedded index into Elasticsearch as it is: same ids, same meta, same vectors.

Nothing is embedded again (the vectors came from the same model the Elasticsearch index is created
for, which is checked: a different dimension or model is an error, not a silent mix). Ids are
content hashes, so running it twice writes the same documents again and duplicates nothing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from haystack.document_stores.types import DuplicatePolicy

from pipelines.settings import Settings
from pipelines.stores import elasticsearch_index as es_index
from pipelines.stores.embedded_store import STORE_FILE, PersistentInMemoryDocumentStore

logger = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """The migration cannot start or did not copy everything; the message says why."""


@dataclass
class MigrationReport:
    """What a migration copied, where to, and how long it took, for the CLI to print."""

    source: Path
    index: str
    documents: int
    written: int
    in_target: int
    dims: int
    seconds: float


def migrate_to_elasticsearch(settings: Settings, source_dir: Path | None = None) -> MigrationReport:
    """Copy every embedded document, vector included, into the Elasticsearch index; MigrationError when it cannot."""
    if not settings.elasticsearch_url:
        raise MigrationError("COURSE_TA_ELASTICSEARCH_URL is not set: say where Elasticsearch is (and its credentials)")
    source_dir = source_dir or settings.store_dir
    if not (source_dir / STORE_FILE).exists():
        raise MigrationError(f"no embedded index at {source_dir / STORE_FILE}: run course-ta ingest first (without the Elasticsearch URL)")
    started = time.monotonic()
    embedded = PersistentInMemoryDocumentStore(source_dir)
    documents = list(embedded.storage.values())  # with their embeddings
    if not documents:
        raise MigrationError(f"the embedded index at {source_dir} is empty")
    sizes = {len(d.embedding) for d in documents if d.embedding is not None}
    unembedded = sum(1 for d in documents if d.embedding is None)
    if unembedded or len(sizes) != 1:
        raise MigrationError(
            f"the embedded index is inconsistent ({unembedded} without vectors, sizes {sorted(sizes)}); re-run course-ta ingest"
        )
    dims = sizes.pop()
    model_dims = es_index.embedding_dimension(settings.embedding_model)
    if dims != model_dims:
        raise MigrationError(
            f"the embedded vectors have {dims} dimensions but COURSE_TA_EMBEDDING_MODEL makes {model_dims}: "
            "set the model the index was built with"
        )

    from pipelines.stores.document_store import open_store

    store = open_store(settings).store
    client = store.client  # connects, checks the version, creates index + alias when absent
    problems = es_index.mapping_problems(client, store.index, settings, dims)
    if problems:
        raise MigrationError(f"index {store.index} does not fit this data: {'; '.join(problems)}")
    written = 0
    batch = settings.elasticsearch_bulk_chunk_size
    for start in range(0, len(documents), batch):
        written += store.write_documents(documents[start : start + batch], policy=DuplicatePolicy.OVERWRITE, refresh=False)
        logger.info("migrate: %d/%d documents", min(start + batch, len(documents)), len(documents))
    client.indices.refresh(index=store.index)
    ids = {d.id for d in documents}
    present = (
        client.count(index=store.index, query={"ids": {"values": sorted(ids)}})["count"] if len(ids) <= 10_000 else store.count_documents()
    )
    if present < len(ids):
        raise MigrationError(f"only {present} of {len(ids)} documents are in {store.index} after the copy")
    return MigrationReport(source_dir, store.index, len(documents), written, present, dims, time.monotonic() - started)
