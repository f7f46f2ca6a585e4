"""LLM answers computed in the shared answer pool stream into Slack as the model writes them.

Signed Events API requests through the real Bolt HTTP path; Slack's Web API is the local wire fake
(streaming methods included); the model is the OpenAI wire fake, stopped half-way through its reply
until the test lets it go on, so "the model is still writing" is a state the test holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.answering.service import AnswerService
from pipelines.settings import Settings, load_settings
from tests.bot.slack.conftest import finished
from tests.bot.slack.slack_constants import CHANNEL
from tests.fakes.openai_chat import WritingModel, writing_model
from tests.fakes.slack_web_api import SlackWire

QUESTION = "What is contrastive learning?"
REPLY = (
    "Contrastive learning trains the embedding model so that a question lands close to the passage that answers it "
    "and far from passages that do not. Each training example is a triplet: the question, a matching passage and a "
    "hard negative that looks similar but answers something else [1]."
)
HOLD_AFTER = 200  # past the Slack SDK's 128-character stream buffer, short of the whole reply


def _settings(model: WritingModel, **overrides: Any) -> Settings:
    values = {"llm_base_url": model.server.base_url, "llm_model": "scripted", "llm_timeout_s": 150, "llm_max_retries": 0}
    return load_settings(**{**values, **overrides})


@pytest.fixture(name="writing_model")
def _writing_model() -> Iterator[WritingModel]:
    with writing_model(REPLY, HOLD_AFTER) as held:
        yield held


def _partial(wire: SlackWire, question: dict[str, Any]) -> str:
    """A beginning of the answer, shown in the question's thread while its message is not finished ("" when none)."""
    for message in wire.thread(CHANNEL, question["event"]["ts"]):
        text = str(message["text"])
        if message.get("user") == wire.bot_user_id and not finished(message) and text and REPLY.startswith(text):
            return text
    return ""


def _appended_text(wire: SlackWire, message: dict[str, Any]) -> str:
    """The answer text that reached the message through ``chat.appendStream`` (before the stream stopped)."""
    calls = [c for c in wire.calls_to("chat.appendStream") if c.params.get("ts") == message["ts"]]
    return "".join(chunk.get("text", "") for c in calls for chunk in c.params.get("chunks") or [] if chunk.get("type") == "markdown_text")


def test_llm_text_reaches_slack_while_the_model_writes_and_a_waiting_question_still_sees_the_queue(
    make_bot, wire, writing_model, base_settings
):
    settings = _settings(writing_model, data_dir=base_settings.data_dir, answer_workers=1, answer_cache_size=0)
    running = make_bot(answers=AnswerService(settings), slack_voice_clips=False)
    first = running.ask(QUESTION)
    shown = wire.wait_for(lambda: _partial(wire, first), what="part of the answer in the thread")
    assert len(shown) < len(REPLY), "a beginning of the answer, not all of it"
    assert not wire.calls_to("chat.stopStream"), "the answer is not finished: the model is still writing"

    second = running.ask("How does Whisper handle long audio?", user="U0STUDENT2")
    # The stream opens with "Searching the lectures…" in the listener thread; the queue position follows at once.
    card = wire.wait_for(
        lambda: [
            m["tasks"]["search"]
            for m in wire.thread(CHANNEL, second["event"]["ts"])
            if m.get("tasks", {}).get("search", {}).get("status") == "pending"
        ],
        what="the second question's place in line",
    )[0]
    assert "next in line" in card["title"], card
    assert len(writing_model.server.requests) == 1, "one worker: the second question waits for it"

    writing_model.release()
    done_first, done_second = running.answered(first), running.answered(second)
    for reply in (done_first, done_second):
        assert reply["stream"] == "stopped" and reply["text"] == REPLY
        assert _appended_text(wire, reply), "text was appended to the stream before it stopped"
        assert reply["tasks"]["search"]["status"] == "complete"
        assert any(b["type"] == "context_actions" for b in reply["blocks"]), "the stream still closes with the feedback buttons"
        assert "*Sources*" in str(reply["blocks"]), "and with the sources"
    assert not wire.calls_to("chat.update"), "a stream that went well is never rewritten"


def test_students_asking_the_same_question_at_once_both_see_it_written_and_a_later_one_gets_the_cache(
    make_bot, wire, writing_model, base_settings
):
    running = make_bot(
        answers=AnswerService(_settings(writing_model, data_dir=base_settings.data_dir, answer_workers=2)), slack_voice_clips=False
    )
    first = running.ask(QUESTION)
    wire.wait_for(lambda: _partial(wire, first), what="part of the answer in the first thread")
    second = running.ask(QUESTION, user="U0STUDENT2")
    shown = wire.wait_for(lambda: _partial(wire, second), what="part of the shared answer in the second thread")
    assert len(shown) < len(REPLY), "the second student sees the same answer being written"
    assert not wire.calls_to("chat.stopStream") and len(writing_model.server.requests) == 1, "one answer, still being written"

    writing_model.release()
    replies = [running.answered(q) for q in (first, second)]
    assert [r["text"] for r in replies] == [REPLY, REPLY] and len(writing_model.server.requests) == 1
    for reply in replies:
        assert reply["stream"] == "stopped" and any(b["type"] == "context_actions" for b in reply["blocks"])

    third = running.ask(QUESTION, user="U0STUDENT3")
    cached = running.answered(third)
    assert cached["text"] == REPLY and len(writing_model.server.requests) == 1, "answered from the cache, no model call"
    assert any(b["type"] == "context_actions" for b in cached["blocks"])


def test_the_placeholder_shows_llm_text_while_the_model_writes(make_bot, wire, writing_model, base_settings):
    wire.fail["chat.startStream"] = "not_allowed"  # a workspace without native streaming
    running = make_bot(answers=AnswerService(_settings(writing_model, data_dir=base_settings.data_dir)), slack_voice_clips=False)
    question = running.ask(QUESTION)
    shown = wire.wait_for(lambda: _partial(wire, question), what="part of the answer in the placeholder")
    (placeholder,) = wire.thread(CHANNEL, question["event"]["ts"])
    assert "still writing" in str(placeholder["blocks"]) and len(shown) < len(REPLY)
    writing_model.release()
    reply = running.answered(question)
    assert reply["text"] == REPLY and any(b["type"] == "context_actions" for b in reply["blocks"])
