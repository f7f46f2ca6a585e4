"""Running as a service (`course-ta serve`): the health endpoint, logs, answer threads and draining on shutdown."""

from __future__ import annotations

import os
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from pipelines.settings.validators import one_of


class ServingSettings(BaseModel):
    """What a long-running answering process exposes and how it uses the machine."""

    # Torch threads for a process that answers questions (0 = torch's default, all cores). One thread
    # per query measured p95 21 ms against 113 ms with two on 2 cores: intra-op threads fight the
    # pipeline's own threads, and concurrent questions still use every core.
    serving_torch_threads: int = Field(default=1, ge=0, le=256)
    # One health endpoint (/livez, /readyz); port 0 picks a free port and logs it.
    health_host: str = "0.0.0.0"
    health_port: int = Field(default=8080, ge=0, le=65_535)
    # json (one object per line, for log collectors) or text.
    log_format: Annotated[str, AfterValidator(one_of("json", "text", case="lower"))] = "json"
    log_level: Annotated[str, AfterValidator(one_of("DEBUG", "INFO", "WARNING", "ERROR", case="upper"))] = "INFO"
    # On SIGTERM: stop taking questions, then wait up to this long for answers in flight.
    shutdown_grace_s: float = Field(default=30.0, ge=0.0, le=3600.0)
    # Questions answered at once (the answer pool, shared by Slack and Discord); unset = one per core.
    # Further questions wait in line and their asker is told how many are ahead.
    answer_workers: int | None = Field(default=None, ge=1, le=256)
    # Voice clips rendered at once, in their own pool at lower CPU priority, so an answer's text never
    # waits for a clip. Piper speaks one clip at a time anyway; hosted voices gain from more.
    voice_workers: int = Field(default=2, ge=1, le=64)
    # Answers kept for repeated questions (0 = no cache); an entry ends on re-ingest or after the TTL.
    answer_cache_size: int = Field(default=512, ge=0, le=1_000_000)
    answer_cache_ttl_s: float = Field(default=3600.0, ge=0.0, le=7 * 86_400.0)

    @property
    def answer_pool_size(self) -> int:
        """Workers of the answer pool: ``answer_workers``, else the cores this process may use."""
        if self.answer_workers:
            return self.answer_workers
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # not Linux
            return max(1, os.cpu_count() or 1)
