"""Zero-downtime re-index on Elasticsearch: build a new physical index, then move the alias atomically.

Used to switch to a fine-tuned embedding model (``--reembed``: every chunk and its sentences are
embedded again with ``COURSE_TA_EMBEDDING_MODEL``) or to apply a new mapping while keeping the vectors. The old index
keeps serving until the single ``POST /_aliases`` that swaps them.

Chunk ids are content hashes, so "what changed while we copied" is a set difference of ids: before
the swap, catch-up passes copy what appeared in the old index and drop what disappeared from it,
until a pass finds nothing. Processes started before the swap keep their pinned (old) index and
embedding model; ``finish_reindex`` (``course-ta es cleanup``) copies what they wrote after the swap
and deletes the indices no longer behind the alias, once they have been restarted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import helpers
from haystack import Document

from pipelines.settings import Settings
from pipelines.stores import elasticsearch_index as es_index

logger = logging.getLogger(__name__)

MAX_CATCH_UP_PASSES = 5
Embed = Callable[[list[Document]], list[Document]]


@dataclass
class ReindexReport:
    """What a re-index or a cleanup did, for the CLI to print."""

    alias: str
    old_indices: list[str]
    new_index: str
    copied: int = 0
    removed: int = 0
    passes: int = 0
    switched: bool = False
    deleted: list[str] = field(default_factory=list)
    seconds: float = 0.0


def document_from_hit(hit: dict[str, Any]) -> Document:
    """A stored hit back into a Document (meta is stored flattened, as elasticsearch-haystack writes it)."""
    source = dict(hit["_source"])
    source["id"] = hit["_id"]
    return Document.from_dict(source)


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def stored_ids(client: Any, index: str) -> set[str]:
    """Every document id in one concrete index, read by scroll (no 10,000-hit limit)."""
    return {hit["_id"] for hit in helpers.scan(client, index=index, _source=False, size=2000)}


def copy_documents(client: Any, source: str, target_store: Any, ids: set[str] | None, embed: Embed | None, batch: int) -> int:
    """Copy ``ids`` (all when None) from ``source`` into ``target_store``, re-embedding when ``embed``."""
    query: dict[str, Any] = {"query": {"match_all": {}}} if ids is None else {"query": {"ids": {"values": sorted(ids)}}}
    if ids is not None and not ids:
        return 0
    copied = 0
    for hits in _batches(helpers.scan(client, index=source, query=query, size=min(batch, 2000)), batch):
        documents = [document_from_hit(hit) for hit in hits]
        if embed is not None:
            documents = embed([Document(id=d.id, content=d.content, meta=d.meta) for d in documents])
        missing = [d.id for d in documents if d.embedding is None]
        if missing:
            raise es_index.ElasticsearchSetupError(f"{len(missing)} documents in {source} have no embedding (first: {missing[0]})")
        from haystack.document_stores.types import DuplicatePolicy

        copied += target_store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE, refresh=False)
    return copied


def _catch_up(client: Any, old: str, new: str, target_store: Any, embed: Embed | None, batch: int, delete: bool) -> tuple[int, int]:
    client.indices.refresh(index=[old, new])
    source_ids, target_ids = stored_ids(client, old), stored_ids(client, new)
    copied = copy_documents(client, old, target_store, source_ids - target_ids, embed, batch)
    removed = 0
    gone = target_ids - source_ids
    if delete and gone:
        target_store.delete_documents(sorted(gone), refresh=False)
        removed = len(gone)
    return copied, removed


def reindex(settings: Settings, *, reembed: bool, delete_old: bool = False, switch: bool = True) -> ReindexReport:
    """Build ``<alias>-<timestamp>`` from the index behind the alias and (``switch``) point the alias at it."""

    started = time.monotonic()
    alias = settings.elasticsearch_index
    client = es_index.connect(settings)
    version = es_index.server_version(client)
    try:
        old, _ = es_index.resolve(client, alias)
    except LookupError:
        raise es_index.ElasticsearchSetupError(f"nothing to re-index: neither an alias nor an index named {alias} exists") from None
    old_meta = es_index.index_meta(client, old)
    if reembed:
        layout = es_index.layout_for(settings, version)
        embed = _embedder(settings)
    else:
        dims = old_meta["embedding_field"].get("dims")
        if not dims:
            raise es_index.ElasticsearchSetupError(f"{old} has no embedding dims in its mapping; re-index with --reembed")
        model = old_meta.get("embedding_model") or settings.embedding_model
        layout = es_index.layout_for(settings, version, dims=int(dims), model=model)
        embed = None
    new = es_index.create_physical_index(client, alias, layout)
    report = ReindexReport(alias=alias, old_indices=[old], new_index=new)
    target = _store_for(settings, new)
    batch = settings.elasticsearch_bulk_chunk_size
    try:
        report.copied = copy_documents(client, old, target, None, embed, batch)
        for report.passes in range(1, MAX_CATCH_UP_PASSES + 1):
            copied, removed = _catch_up(client, old, new, target, embed, batch, delete=True)
            report.copied += copied
            report.removed += removed
            if not copied and not removed:
                break
        client.indices.refresh(index=new)
    except BaseException:
        logger.warning("re-index failed; deleting the unfinished %s (the alias still points at %s)", new, old)
        client.indices.delete(index=new, ignore_unavailable=True)
        raise
    if switch:
        es_index.switch_alias(client, alias, new)
        report.switched = True
        if delete_old and old != alias:
            client.indices.delete(index=old)
            report.deleted.append(old)
    report.seconds = time.monotonic() - started
    return report


def finish_reindex(settings: Settings, *, reembed: bool) -> ReindexReport:
    """After a switch and a restart: copy late writes from old indices, then delete them."""
    alias = settings.elasticsearch_index
    client = es_index.connect(settings)
    current, is_alias = es_index.resolve(client, alias)
    if not is_alias:
        raise es_index.ElasticsearchSetupError(f"{alias} is a plain index, not an alias: run course-ta es reindex first")
    leftovers = [name for name in es_index.physical_indices(client, alias) if name != current]
    report = ReindexReport(alias=alias, old_indices=leftovers, new_index=current, switched=True)
    target = _store_for(settings, current)
    embed = _embedder(settings) if reembed else None
    for old in leftovers:
        copied, _ = _catch_up(client, old, current, target, embed, settings.elasticsearch_bulk_chunk_size, delete=False)
        report.copied += copied
        client.indices.delete(index=old)
        report.deleted.append(old)
    return report


def _store_for(settings: Settings, index: str) -> Any:
    """A store writing straight to one concrete index (no alias resolution, no creation)."""
    from pipelines.stores.document_store import open_store

    store = open_store(settings.model_copy(update={"elasticsearch_index": index})).store
    store.pin_index = False
    return store


def _embedder(settings: Settings) -> Embed:
    from pipelines.search.embedders import document_embedder
    from pipelines.search.sentence_vectors import attach, embedder_space

    embedder = document_embedder(settings)
    embedder.warm_up()
    space = embedder_space(embedder)
    # A new model makes the stored sentence vectors meaningless: they are embedded again with the chunks.
    return lambda documents: attach(embedder.run(documents=documents)["documents"], embedder, space)
