"""Settings → one ``openai`` client with timeouts, retries, a token budget and per-stage usage.

Every LLM call of course-ta goes through :class:`LLMClient.chat`, so the three things that must
hold for all of them hold in one place: a slow or broken server raises :class:`LLMError` (callers
fall back to the offline path and log the reason, never crash), tokens are counted per stage, and
a sync that has spent its budget stops calling the model instead of running up a bill.

Retries with exponential backoff are the SDK's own (``max_retries``: 408/409/429/5xx and connection
errors, honouring ``Retry-After``); we do not add a second retry loop on top of it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.settings import Settings

logger = logging.getLogger(__name__)

# Local servers (llama.cpp, Ollama, vLLM) accept any key, but the SDK refuses to start without one.
PLACEHOLDER_KEY = "not-needed"


class LLMError(RuntimeError):
    """An LLM call failed (timeout, HTTP error, bad output); the message is safe to log."""


class BudgetExceeded(LLMError):
    """The token budget of this run is spent; later calls are refused until the next run."""


@dataclass
class ChatResult:
    """One completion's text, token counts and duration."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    estimated: bool = False  # the server reported no usage; tokens are estimated from characters

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass
class StageUsage:
    """Calls, failures, tokens and time of one stage (repunctuate, summary, answer...)."""

    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures, with completion tokens per second when any time was spent."""
        return {
            "calls": self.calls,
            "failures": self.failures,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "seconds": round(self.seconds, 3),
            "completion_tokens_per_s": round(self.completion_tokens / self.seconds, 2) if self.seconds else None,
        }


@dataclass
class Usage:
    """Token usage of one run (a sync, an ingest, a service), per stage; thread-safe."""

    budget_tokens: int = 0  # 0 = unlimited
    exhausted: bool = False  # set from outside when a budget shared with other processes (a course's day) is spent
    stages: dict[str, StageUsage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def total_tokens(self) -> int:
        """Tokens spent by all stages so far (what the budget is checked against)."""
        with self._lock:
            return sum(s.prompt_tokens + s.completion_tokens for s in self.stages.values())

    def check(self, stage: str) -> None:
        """Raise :class:`BudgetExceeded` when the budget is spent; a zero budget never is."""
        if self.exhausted:
            raise BudgetExceeded(f"the day's token budget is spent; {stage} uses the offline path")
        if self.budget_tokens and self.total_tokens >= self.budget_tokens:
            raise BudgetExceeded(f"token budget of {self.budget_tokens} spent ({self.total_tokens} used); {stage} uses the offline path")

    def record(self, stage: str, result: ChatResult | None, seconds: float) -> None:
        """Count one call of ``stage``; ``result`` None means it failed."""
        with self._lock:
            usage = self.stages.setdefault(stage, StageUsage())
            usage.calls += 1
            usage.seconds += seconds
            if result is None:
                usage.failures += 1
            else:
                usage.prompt_tokens += result.prompt_tokens
                usage.completion_tokens += result.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        """Per-stage figures, by stage name."""
        with self._lock:
            return {name: usage.to_dict() for name, usage in sorted(self.stages.items())}


def llm_configured(settings: Settings) -> bool:
    """An LLM is used only when a model is named and there is somewhere to send it."""
    return bool(settings.llm_model) and (settings.llm_base_url is not None or settings.llm_api_key is not None)


class LLMClient:
    """A thin, thread-safe wrapper over ``openai.OpenAI`` for chat completions."""

    def __init__(self, settings: Settings, usage: Usage | None = None, *, budget: bool = True) -> None:
        if not llm_configured(settings):
            raise LLMError("no LLM configured: set COURSE_TA_LLM_MODEL and COURSE_TA_LLM_BASE_URL or an API key")
        import openai

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key is not None else PLACEHOLDER_KEY
        self.settings = settings
        self.model = settings.llm_model
        self.usage = usage or Usage(budget_tokens=settings.llm_budget_tokens if budget else 0)
        self._client = openai.OpenAI(
            api_key=key,
            base_url=settings.llm_base_url,
            timeout=settings.llm_timeout_s,
            max_retries=settings.llm_max_retries,
        )
        self._json_mode_supported = True

    @property
    def name(self) -> str:
        """``llm:<model>``: the method recorded on answers and summaries this client made."""
        return f"llm:{self.model}"

    def chat(
        self,
        messages: list[dict[str, str]],
        *,
        stage: str,
        max_tokens: int,
        json_mode: bool = False,
        on_text: Callable[[str], None] | None = None,
    ) -> ChatResult:
        """One chat completion; streamed to ``on_text`` delta by delta when given.

        Raises :class:`LLMError` for every failure (including the budget), never anything else.
        """
        import openai

        self.usage.check(stage)
        started = time.perf_counter()
        result: ChatResult | None = None
        try:
            try:
                result = self._call(messages, max_tokens, json_mode and self._json_mode_supported, on_text)
            except openai.BadRequestError as error:
                if not (json_mode and self._json_mode_supported and "response_format" in str(error)):
                    raise
                self._json_mode_supported = False  # some servers reject JSON mode; ask without it
                result = self._call(messages, max_tokens, False, on_text)
        except openai.APITimeoutError:
            raise LLMError(f"{stage}: the LLM did not answer within {self.settings.llm_timeout_s:g}s") from None
        except openai.APIStatusError as error:
            raise LLMError(f"{stage}: the LLM server answered HTTP {error.status_code}") from None
        except openai.APIConnectionError:
            raise LLMError(f"{stage}: cannot reach the LLM server at {self.describe()}") from None
        except openai.OpenAIError as error:
            raise LLMError(f"{stage}: {type(error).__name__}: {str(error)[:200]}") from None
        finally:
            seconds = time.perf_counter() - started
            self.usage.record(stage, result, seconds)
        assert result is not None
        result.seconds = seconds
        logger.info(
            "llm %s: %d prompt + %d completion tokens%s in %.2fs (run total %d)",
            stage,
            result.prompt_tokens,
            result.completion_tokens,
            " (estimated)" if result.estimated else "",
            seconds,
            self.usage.total_tokens,
        )
        return result

    def _call(self, messages: list[dict[str, str]], max_tokens: int, json_mode: bool, on_text: Callable[[str], None] | None) -> ChatResult:
        kwargs: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.settings.llm_temperature,
            "max_tokens": max_tokens,
        }
        if json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if on_text is None:
            response = self._client.chat.completions.create(**kwargs)
            if not response.choices:
                raise LLMError("the LLM returned no choices")
            text = response.choices[0].message.content or ""
            return self._result(text, messages, response.usage)
        stream = self._client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
        parts: list[str] = []
        usage = None
        for chunk in stream:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices or ():
                delta = choice.delta.content if choice.delta is not None else None
                if delta:
                    parts.append(delta)
                    on_text(delta)
        return self._result("".join(parts), messages, usage)

    @staticmethod
    def _result(text: str, messages: list[dict[str, str]], usage: Any) -> ChatResult:
        if usage is not None and getattr(usage, "prompt_tokens", None) is not None:
            return ChatResult(text, int(usage.prompt_tokens or 0), int(usage.completion_tokens or 0), 0.0)
        prompt_chars = sum(len(m.get("content", "")) for m in messages)
        return ChatResult(text, max(1, prompt_chars // 4), max(1, len(text) // 4), 0.0, estimated=True)

    def describe(self) -> str:
        """Where the model is, safe to print (the key is never included)."""
        base = self.settings.llm_base_url or "https://api.openai.com/v1"
        return f"{base} model={self.model}"
