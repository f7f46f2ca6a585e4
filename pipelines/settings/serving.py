"""Running as a service (`course-ta serve`): the health endpoint, logs, answer threads and draining on shutdown."""

from __future__ import annotations

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
