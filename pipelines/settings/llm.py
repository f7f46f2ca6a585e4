"""The optional LLM: any OpenAI-compatible chat-completions server, and what it is used for."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AliasChoices, BaseModel, Field, SecretStr

from pipelines.settings.validators import http_url, optional, secret


class LlmSettings(BaseModel):
    """The chat-completions endpoint, its limits, and which stages use it (each has an offline fallback)."""

    # OpenAI (no base URL), vLLM, Ollama, llama.cpp, Azure (its /openai/v1 base URL).
    # No model = no LLM: every stage takes its offline fallback.
    llm_base_url: Annotated[str | None, AfterValidator(optional(http_url()))] = Field(
        default=None, validation_alias=AliasChoices("llm_base_url", "COURSE_TA_LLM_BASE_URL", "OPENAI_BASE_URL")
    )
    llm_model: str = ""
    # The key is a secret: read from COURSE_TA_LLM_API_KEY or OPENAI_API_KEY, never logged or printed.
    llm_api_key: Annotated[SecretStr | None, AfterValidator(secret())] = Field(
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

    @property
    def llm_window(self) -> int:
        """Words per window: input and rewritten output (~1.4 tokens a word each) plus the prompt fit."""
        if self.llm_window_words:
            return self.llm_window_words
        return max(100, min(1500, (self.llm_context_tokens - 600) // 3))
