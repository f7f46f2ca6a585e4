"""The LLM client against a local chat-completions server: retries, timeouts, budget, usage, secrets."""

from __future__ import annotations

import logging
import re

import pytest

from pipelines.llm.client import BudgetExceeded, LLMClient, LLMError, llm_configured
from pipelines.settings import SettingsError, load_settings
from tests.fakes.openai_chat import Reply
from tests.pipelines.llm.conftest import llm_settings

HELLO = [{"role": "user", "content": "say hello"}]


def test_retries_with_backoff_then_succeeds(chat_server) -> None:
    calls = []

    def flaky(body):
        calls.append(body)
        if len(calls) <= 2:
            return Reply(status=503, headers={"retry-after-ms": "20"})
        return Reply("hello there")

    server = chat_server(flaky)
    client = LLMClient(llm_settings(server, llm_max_retries=2))
    result = client.chat(HELLO, stage="test", max_tokens=10)
    assert result.text == "hello there"
    assert len(server.requests) == 3
    assert client.usage.stages["test"].calls == 1 and client.usage.stages["test"].failures == 0


def test_gives_up_after_max_retries_with_a_clear_error(chat_server) -> None:
    server = chat_server(lambda body: Reply(status=500, headers={"retry-after-ms": "10"}))
    client = LLMClient(llm_settings(server, llm_max_retries=1))
    with pytest.raises(LLMError, match="HTTP 500"):
        client.chat(HELLO, stage="test", max_tokens=10)
    assert len(server.requests) == 2
    assert client.usage.stages["test"].failures == 1


def test_a_stalled_server_times_out(chat_server) -> None:
    server = chat_server(lambda body: Reply("too late", delay_s=3.0))
    client = LLMClient(llm_settings(server, llm_timeout_s=0.3))
    with pytest.raises(LLMError, match=re.escape("did not answer within 0.3s")):
        client.chat(HELLO, stage="test", max_tokens=10)


def test_an_unreachable_server_is_an_llm_error() -> None:
    settings = load_settings(llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_max_retries=0, llm_timeout_s=2)
    with pytest.raises(LLMError, match=re.escape("cannot reach the LLM server at http://127.0.0.1:9/v1")):
        LLMClient(settings).chat(HELLO, stage="test", max_tokens=10)


def test_budget_stops_further_calls(chat_server) -> None:
    server = chat_server(lambda body: Reply("ok", prompt_tokens=30, completion_tokens=10))
    client = LLMClient(llm_settings(server, llm_budget_tokens=60))
    client.chat(HELLO, stage="summary", max_tokens=10)
    client.chat(HELLO, stage="summary", max_tokens=10)  # 40 used < 60: allowed, ends at 80
    with pytest.raises(BudgetExceeded, match="token budget of 60 spent"):
        client.chat(HELLO, stage="summary", max_tokens=10)
    assert len(server.requests) == 2
    assert client.usage.to_dict()["summary"]["prompt_tokens"] == 60


def test_usage_is_logged_per_stage_and_streaming_counts_tokens(chat_server, caplog) -> None:
    server = chat_server(lambda body: Reply("one two three four", prompt_tokens=12, completion_tokens=4))
    client = LLMClient(llm_settings(server))
    deltas: list[str] = []
    with caplog.at_level(logging.INFO, logger="pipelines.llm.client"):
        streamed = client.chat(HELLO, stage="answer", max_tokens=10, on_text=deltas.append)
        client.chat(HELLO, stage="repunctuate", max_tokens=10)
    assert "".join(deltas) == streamed.text == "one two three four" and len(deltas) > 1
    assert server.requests[0]["stream"] is True
    usage = client.usage.to_dict()
    assert usage["answer"]["completion_tokens"] == 4 and usage["repunctuate"]["prompt_tokens"] == 12
    assert any("llm answer: 12 prompt + 4 completion tokens" in r.getMessage() for r in caplog.records)


def test_json_mode_rejected_by_server_is_retried_without_it(chat_server) -> None:
    def picky(body):
        if "response_format" in body:
            return Reply(status=400, error="response_format is not supported")
        return Reply('{"ok": true}')

    server = chat_server(picky)
    client = LLMClient(llm_settings(server))
    assert client.chat(HELLO, stage="summary", max_tokens=10, json_mode=True).text == '{"ok": true}'
    assert "response_format" in server.requests[0] and "response_format" not in server.requests[1]


def test_key_is_secret_and_openai_variable_is_accepted(monkeypatch, chat_server, caplog) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-very-secret")
    monkeypatch.setenv("COURSE_TA_LLM_MODEL", "gpt-test")
    settings = load_settings()
    assert llm_configured(settings) and settings.llm_api_key.get_secret_value() == "sk-test-very-secret"
    assert "sk-test" not in repr(settings) and "sk-test" not in LLMClient(settings).describe()
    server = chat_server(lambda body: Reply("fine"))
    client = LLMClient(load_settings(llm_base_url=server.base_url))
    with caplog.at_level(logging.DEBUG):
        client.chat(HELLO, stage="test", max_tokens=5)
    assert "sk-test-very-secret" not in caplog.text


def test_no_model_means_no_llm_and_bad_values_are_named() -> None:
    assert not llm_configured(load_settings())
    with pytest.raises(LLMError, match="no LLM configured"):
        LLMClient(load_settings())
    with pytest.raises(SettingsError, match="COURSE_TA_LLM_BASE_URL: must start with http"):
        load_settings(llm_base_url="localhost:8080")
    with pytest.raises(SettingsError, match="COURSE_TA_LLM_TIMEOUT_S"):
        load_settings(llm_timeout_s=0)
