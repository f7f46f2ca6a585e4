"""Keeping the index fresh: which captions to trust, how often sources are polled, and how failures are retried."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from pipelines.settings.store import DataDirSettings
from pipelines.settings.validators import comma_list, shaped

LANGUAGE_CODE = shaped(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", "a language code such as en or en-GB")


class FreshnessSettings(DataDirSettings):
    """Sources, the scheduler and worker, retries and transcription throughput."""

    # Captions: language codes in priority order; human captions always beat auto-generated ones.
    caption_languages: Annotated[str, AfterValidator(comma_list(LANGUAGE_CODE, describe="language codes", required=True))] = "en"
    allow_auto_captions: bool = True
    always_transcribe: bool = False
    # Scheduler and worker.
    poll_interval_minutes: int = Field(default=60, ge=1, le=10_080)
    worker_interval_seconds: int = Field(default=60, ge=1, le=86_400)
    caption_recheck_hours: int = Field(default=6, ge=1, le=168)
    caption_recheck_days: int = Field(default=3, ge=0, le=90)
    sync_workers: int = Field(default=2, ge=1, le=16)
    transcription_concurrency: int = Field(default=1, ge=1, le=8)
    # Retries of a failed video: exponential backoff from the base delay, capped, then given up.
    retry_max_attempts: int = Field(default=6, ge=1, le=50)
    retry_base_seconds: float = Field(default=60.0, ge=0.0, le=86_400.0)
    retry_max_seconds: float = Field(default=21_600.0, ge=1.0, le=604_800.0)
    download_timeout_s: float = Field(default=30.0, ge=1.0, le=600.0)
    keep_audio: bool = False
    # Empty = a SQLite job store in the data dir.
    scheduler_db_url: str | None = None

    @property
    def caption_language_list(self) -> list[str]:
        """Caption languages in priority order."""
        return self.caption_languages.split(",")

    @property
    def scheduler_url(self) -> str:
        """The scheduler's job store: the configured database URL, else SQLite in the data dir."""
        return self.scheduler_db_url or f"sqlite:///{self.data_dir / 'scheduler.sqlite'}"
