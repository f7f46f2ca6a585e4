"""The Elasticsearch side of the corpus: client options, index layout, aliases.

``COURSE_TA_ELASTICSEARCH_INDEX`` names an **alias**, never a concrete index. The data lives in
physical indices named ``<alias>-<UTC timestamp>``; the alias points at exactly one of them (its write
index). Re-indexing (a new embedding model, a changed mapping) builds a new physical index while the
old one keeps serving, then moves the alias in one atomic ``POST /_aliases``: no moment without an
index, no moment with two.

Each physical index records in its mapping ``_meta`` which embedding model and dimension produced
its vectors, so ``course-ta doctor`` and the store can refuse to mix models.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipelines.settings import Settings

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
# int8_hnsw (scalar-quantised HNSW: ~4x less memory, same recall for MiniLM-sized vectors) exists from 8.12.
INT8_HNSW_SINCE = (8, 12)
MINIMUM_VERSION = (8, 0)
SIMILARITY = "cosine"
# Transport retries: these statuses mean "try again" (overload, proxy hiccup), never "your request is wrong".
RETRY_ON_STATUS = (429, 502, 503, 504)

# Meta fields we filter and group on are exact keywords; sentence timing arrays are stored, not indexed.
BASE_PROPERTIES: dict[str, Any] = {
    "content": {"type": "text", "analyzer": "english"},
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
    # Stored with the chunk for the answerer, never searched: not indexed, not even parsed.
    "sentence_vectors": {"type": "object", "enabled": False},
}


class ElasticsearchSetupError(RuntimeError):
    """The cluster or index is not usable as configured; the message says what to do."""


def parse_version(number: str) -> tuple[int, int]:
    """``"8.15.3"`` → ``(8, 15)``; ``"9.0.0-SNAPSHOT"`` → ``(9, 0)``."""
    parts = number.split("-", 1)[0].split(".")
    try:
        return int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
    except ValueError:
        raise ElasticsearchSetupError(f"unrecognised Elasticsearch version {number!r}") from None


def embedding_dimension(model: str) -> int:
    """The output size of a sentence-transformers model, read from its files when it is a local folder.

    Reading ``modules.json`` and the module configs costs microseconds; loading the model costs
    seconds. A hub name that is not on disk is loaded (from the local cache when offline).
    """
    folder = Path(model)
    modules_file = folder / "modules.json"
    if modules_file.is_file():
        dimension: int | None = None
        for module in json.loads(modules_file.read_text(encoding="utf-8")):
            config = folder / module.get("path", "") / "config.json"
            kind = module.get("type", "")
            if not config.is_file() or not kind.startswith("sentence_transformers."):
                continue
            values = json.loads(config.read_text(encoding="utf-8"))
            if "Pooling" in kind and "word_embedding_dimension" in values:
                dimension = int(values["word_embedding_dimension"])
            elif "Dense" in kind and "out_features" in values:
                dimension = int(values["out_features"])
        if dimension:
            return dimension
    from sentence_transformers import SentenceTransformer

    loaded = SentenceTransformer(model, device="cpu", local_files_only=folder.exists())
    size = getattr(loaded, "get_embedding_dimension", loaded.get_sentence_embedding_dimension)()
    if not size:
        raise ElasticsearchSetupError(f"cannot tell the embedding size of {model!r}")
    return int(size)


@dataclass(frozen=True)
class IndexLayout:
    """What a new physical index is created with."""

    dims: int
    embedding_model: str
    server_version: tuple[int, int]
    shards: int = 1
    replicas: int = 0

    @property
    def quantized(self) -> bool:
        """Whether the server is new enough (8.12+) for int8 HNSW, which needs ~4x less memory."""
        return self.server_version >= INT8_HNSW_SINCE

    def mappings(self) -> dict[str, Any]:
        """Our field mapping plus a ``_meta`` record of the embedding model and dims, so mixing models is caught."""
        embedding: dict[str, Any] = {"type": "dense_vector", "dims": self.dims, "index": True, "similarity": SIMILARITY}
        embedding["index_options"] = {"type": "int8_hnsw" if self.quantized else "hnsw", "m": 16, "ef_construction": 100}
        return {
            "_meta": {"course_ta": {"schema": SCHEMA_VERSION, "embedding_model": self.embedding_model, "dims": self.dims}},
            # Any meta field added later is an exact-match keyword, not an analysed text field.
            "dynamic_templates": [{"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}],
            "properties": {**BASE_PROPERTIES, "embedding": embedding},
        }

    def settings(self) -> dict[str, Any]:
        """The index settings: shard and replica counts."""
        return {"number_of_shards": self.shards, "number_of_replicas": self.replicas}


def client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``elasticsearch.Elasticsearch`` (auth is passed by the store separately).

    Secrets are included here only as values for the client, never logged; ``describe`` what is safe.
    """
    options: dict[str, Any] = {
        "request_timeout": settings.elasticsearch_request_timeout_s,
        "max_retries": settings.elasticsearch_max_retries,
        "retry_on_timeout": True,
        "retry_on_status": RETRY_ON_STATUS,
    }
    if settings.elasticsearch_username and settings.elasticsearch_password is not None:
        options["basic_auth"] = (settings.elasticsearch_username, settings.elasticsearch_password.get_secret_value())
    if settings.elasticsearch_ca_certs is not None:
        options["ca_certs"] = str(settings.elasticsearch_ca_certs)
    if settings.elasticsearch_ca_fingerprint:
        options["ssl_assert_fingerprint"] = settings.elasticsearch_ca_fingerprint
    if not settings.elasticsearch_verify_certs:
        options["verify_certs"] = False
        options["ssl_show_warn"] = False
    return options


def connect(settings: Settings) -> Any:
    """A bare client for admin work (doctor, re-index, migrate), configured like the store's."""
    from elasticsearch import Elasticsearch

    if not settings.elasticsearch_url:
        raise ElasticsearchSetupError("COURSE_TA_ELASTICSEARCH_URL is not set")
    api_key = settings.elasticsearch_api_key.get_secret_value() if settings.elasticsearch_api_key else None
    return Elasticsearch(settings.elasticsearch_url, api_key=api_key, **client_options(settings))


def layout_for(settings: Settings, server_version: tuple[int, int], dims: int | None = None, model: str | None = None) -> IndexLayout:
    """The layout for a new index under these settings; dims are read from the model when not given."""
    model = model or settings.embedding_model
    return IndexLayout(
        dims=dims if dims is not None else embedding_dimension(model),
        embedding_model=model,
        server_version=server_version,
        shards=settings.elasticsearch_shards,
        replicas=settings.elasticsearch_replicas,
    )


def server_version(client: Any) -> tuple[int, int]:
    """The cluster's (major, minor); raises ElasticsearchSetupError when it is older than 8.0."""
    version = parse_version(str(client.info()["version"]["number"]))
    if version < MINIMUM_VERSION:
        raise ElasticsearchSetupError(
            f"Elasticsearch {version[0]}.{version[1]} is too old: course-ta needs 8.0 or newer (8.12+ for int8 HNSW)"
        )
    return version


def physical_indices(client: Any, alias: str) -> list[str]:
    """Every ``<alias>-<timestamp>`` index (not other aliases' indices that merely share the prefix)."""
    pattern = re.compile(rf"^{re.escape(alias)}-\d{{20}}$")
    return sorted(name for name in client.indices.get(index=f"{alias}-*", ignore_unavailable=True).body if pattern.match(name))


def new_index_name(alias: str, now: datetime | None = None) -> str:
    """``<alias>-<UTC timestamp to the microsecond>``: names sort by creation time and match ``physical_indices``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d%H%M%S%f")
    return f"{alias}-{stamp}"


def create_physical_index(client: Any, alias: str, layout: IndexLayout) -> str:
    """Create a new timestamped index with ``layout`` (the alias is not moved) and return its name."""
    name = new_index_name(alias)
    client.indices.create(index=name, settings=layout.settings(), mappings=layout.mappings())
    logger.info("created index %s (dims=%d, %s)", name, layout.dims, "int8_hnsw" if layout.quantized else "hnsw")
    return name


def indices_behind(client: Any, alias: str) -> list[str]:
    """The concrete indices the alias points at ([] when there is no such alias)."""
    if not client.indices.exists_alias(name=alias):
        return []
    return sorted(client.indices.get_alias(name=alias).body.keys())


def resolve(client: Any, alias: str) -> tuple[str, bool]:
    """(concrete index, is_alias). A concrete index under the alias name (made before aliases) is used as is."""
    behind = indices_behind(client, alias)
    if len(behind) == 1:
        return behind[0], True
    if len(behind) > 1:
        raise ElasticsearchSetupError(
            f"alias {alias} points at {len(behind)} indices ({', '.join(behind)}); keep one: course-ta es switch --to <index>"
        )
    if client.indices.exists(index=alias):
        return alias, False
    raise LookupError(alias)


def ensure_index(client: Any, alias: str, layout_factory: Any) -> str:
    """Resolve the alias, creating the first physical index behind it when nothing exists yet."""
    try:
        index, _ = resolve(client, alias)
        return index
    except LookupError:
        pass
    layout: IndexLayout = layout_factory()
    index = create_physical_index(client, alias, layout)
    client.indices.update_aliases(actions=[{"add": {"index": index, "alias": alias, "is_write_index": True}}])
    return index


def switch_alias(client: Any, alias: str, new_index: str) -> list[str]:
    """Point the alias at ``new_index`` in one atomic request; returns the indices it left.

    A concrete index that still carries the alias's own name (the pre-alias layout) is removed in
    the same request, since an alias and an index cannot share a name.
    """
    old = indices_behind(client, alias)
    actions: list[dict[str, Any]] = [{"remove": {"index": index, "alias": alias}} for index in old if index != new_index]
    if not old and client.indices.exists(index=alias):
        actions.append({"remove_index": {"index": alias}})
    actions.append({"add": {"index": new_index, "alias": alias, "is_write_index": True}})
    client.indices.update_aliases(actions=actions)
    logger.info("alias %s now points at %s (was %s)", alias, new_index, ", ".join(old) or "nothing")
    return [index for index in old if index != new_index]


def index_meta(client: Any, index: str) -> dict[str, Any]:
    """The ``_meta.course_ta`` block and the embedding field of an index's mapping."""
    body = client.indices.get_mapping(index=index).body
    mapping = next(iter(body.values()))["mappings"]
    meta = dict(mapping.get("_meta", {}).get("course_ta", {}))
    meta["embedding_field"] = mapping.get("properties", {}).get("embedding", {})
    meta["properties"] = mapping.get("properties", {})
    return meta


def mapping_problems(client: Any, index: str, settings: Settings, dims: int) -> list[str]:
    """What in the index's mapping disagrees with the configuration (empty = fine)."""
    meta = index_meta(client, index)
    embedding = meta["embedding_field"]
    properties = meta["properties"]
    problems = []
    if embedding.get("type") != "dense_vector":
        problems.append(f"field embedding is {embedding.get('type') or 'missing'}, not dense_vector")
    elif embedding.get("dims") not in (None, dims):
        problems.append(f"embedding dims is {embedding.get('dims')} but the model makes {dims}-dimensional vectors")
    elif embedding.get("similarity") not in (None, SIMILARITY):
        problems.append(f"embedding similarity is {embedding.get('similarity')}, expected {SIMILARITY}")
    if properties.get("content", {}).get("analyzer") != "english":
        problems.append("content is not analysed with the english analyzer (BM25 misses plurals and stems)")
    for field in ("video_id", "kind", "source"):
        if properties.get(field, {}).get("type") != "keyword":
            problems.append(f"{field} is {properties.get(field, {}).get('type') or 'unmapped'}, not keyword")
    model = meta.get("embedding_model")
    if model and model != settings.embedding_model:
        problems.append(f"index was embedded with {model} but COURSE_TA_EMBEDDING_MODEL is {settings.embedding_model}")
    return problems
