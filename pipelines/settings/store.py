"""Where the app keeps its data: the data dir and its layout, and the document store (embedded, or Elasticsearch)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, SecretStr

from pipelines.settings.validators import elasticsearch_index_name, existing_file, http_url, optional, secret, shaped, unset_if_blank


def default_data_dir() -> Path:
    """The user's data home (XDG), so the app never writes into the source checkout by default."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "course-ta"


class DataDirSettings(BaseModel):
    """The one folder everything the app writes lives under, and where each part of it goes."""

    data_dir: Path = Field(default_factory=default_data_dir)

    @property
    def store_dir(self) -> Path:
        """The embedded document store's files."""
        return self.data_dir / "store"

    @property
    def ledger_path(self) -> Path:
        """The freshness ledger: every source, video and what was last indexed from it."""
        return self.data_dir / "ledger.sqlite"

    @property
    def feedback_db_path(self) -> Path:
        """The answer log with students' votes on the answers."""
        return self.data_dir / "feedback.sqlite"

    @property
    def voice_dir(self) -> Path:
        """Registered voices: normalized reference clips and each backend's voice id."""
        return self.data_dir / "voices"

    @property
    def clip_cache_dir(self) -> Path:
        """Spoken answers already rendered, reused for the same text and voice."""
        return self.data_dir / "cache" / "clips"


class StoreSettings(DataDirSettings):
    """The document store: embedded under the data dir unless an Elasticsearch URL is given."""

    # Connection and credentials: an API key replaces the username and password.
    elasticsearch_url: Annotated[str | None, AfterValidator(optional(http_url()))] = None
    # The index name is an alias pointing at the physical index (course-ta es).
    elasticsearch_index: Annotated[str, AfterValidator(elasticsearch_index_name)] = "course-ta"
    elasticsearch_api_key: Annotated[SecretStr | None, AfterValidator(secret())] = None
    elasticsearch_username: str | None = None
    elasticsearch_password: Annotated[SecretStr | None, AfterValidator(secret())] = None
    # TLS: a CA bundle path (the http_ca.crt ES 8 generates) or its SHA-256 fingerprint.
    elasticsearch_ca_certs: Annotated[
        Path | None, BeforeValidator(unset_if_blank), AfterValidator(existing_file("CA certificate file"))
    ] = None
    elasticsearch_ca_fingerprint: Annotated[
        str | None,
        AfterValidator(optional(shaped(r"([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}", "a SHA-256 fingerprint (64 hex digits, colons allowed)"))),
    ] = None
    elasticsearch_verify_certs: bool = True
    # Requests: timeout per request; retries on timeouts, connection errors and 429/502/503/504.
    elasticsearch_request_timeout_s: float = Field(default=30.0, gt=0.0, le=600.0)
    elasticsearch_max_retries: int = Field(default=3, ge=0, le=20)
    # Bulk writes: documents per bulk request; rejected (429) items are retried with backoff.
    elasticsearch_bulk_chunk_size: int = Field(default=500, ge=1, le=10_000)
    # Physical index layout behind the alias: 1 node → 0 replicas.
    elasticsearch_shards: int = Field(default=1, ge=1, le=64)
    elasticsearch_replicas: int = Field(default=0, ge=0, le=8)

    @property
    def store_kind(self) -> str:
        """``elasticsearch`` when a URL is configured, else ``embedded``."""
        return "elasticsearch" if self.elasticsearch_url else "embedded"

    def describe_store(self) -> str:
        """Where documents live, safe to print (no credentials)."""
        if self.elasticsearch_url:
            host = self.elasticsearch_url.split("@")[-1]
            return f"elasticsearch {host} index={self.elasticsearch_index}"
        return f"embedded {self.store_dir}"
