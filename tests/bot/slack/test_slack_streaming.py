"""Native streaming and its fallback, escaping in every text field, and text that never waits in line.

Signed Events API requests through the real Bolt HTTP path; Slack's Web API (streaming methods
included) is the local wire fake, the model the OpenAI wire fake held until the test releases it.
"""

from __future__ import annotations

import json
import re

from bot.answering.service import AnswerService
from tests.bot.slack.conftest import finished
from tests.bot.slack.slack_constants import CHANNEL, STUDENT

# Every spelling of a Slack control sequence, raw: none may reach Slack from content.
CONTROL = re.compile(r"<(?:!channel|!here|!everyone|!subteam\^|@[UW]|#[CG])")
HOSTILE = "Ping <!channel> and <!here> and <!everyone>, <@U0VICTIM1>, <#C0OTHER01>, <!subteam^S0TEAM|team> & co. [1]"


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def test_streamed_chunks_concatenate_to_the_answer_and_the_stream_stops_with_sources_and_feedback(
    make_bot, wire, held_model, base_settings
):
    held_model.text = "Contrastive learning pulls a question and its passage together. " * 4 + "[1]"
    running = make_bot(answers=AnswerService(held_model.settings(data_dir=base_settings.data_dir)), slack_voice_clips=False)
    question = running.ask("What is contrastive learning?")
    held_model.wait_started()
    (streaming,) = wire.thread(CHANNEL, question["event"]["ts"])
    assert streaming["stream"] == "streaming" and streaming["tasks"]["search"] == {
        "title": "Searching the lectures\u2026",
        "status": "in_progress",
    }
    held_model.release()

    reply = running.answered(question)
    (turn,) = running.bot.log.thread_turns("slack", CHANNEL, question["event"]["ts"])
    assert "".join(reply["appends"]) == reply["text"] == turn.answer, "the streamed pieces are exactly the answer"
    starts, stops = wire.calls_to("chat.startStream"), wire.calls_to("chat.stopStream")
    assert len(starts) == 1 and len(stops) == 1
    assert (starts[0].params["recipient_user_id"], starts[0].params["recipient_team_id"]) == (STUDENT, wire.team_id)
    blocks = stops[0].params["blocks"]
    assert "Contrastive fine-tuning with triplets" in json.dumps(blocks), "the sources close the stream"
    assert blocks[-1]["type"] == "context_actions" and blocks[-1]["elements"][0]["type"] == "feedback_buttons"
    assert reply["tasks"]["search"]["status"] == "complete"
    assert not wire.calls_to("chat.update"), "a stream that went well is never rewritten"


def test_stream_refused_falls_back_to_a_placeholder_and_a_permanent_refusal_is_remembered(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    wire.fail["chat.startStream"] = "ratelimited"  # a passing refusal: this message only
    first = running.answered(running.ask("What is contrastive learning?"))
    assert "stream" not in first and "contrastive" in first["text"].lower()
    assert running.bot.flow.streaming.available, "a passing refusal does not end streaming"

    wire.fail["chat.startStream"] = "not_allowed"  # the workspace cannot stream
    second = running.answered(running.ask("How does Whisper handle long audio?"))
    assert "stream" not in second and "Whisper" in second["text"]
    assert not running.bot.flow.streaming.available

    del wire.fail["chat.startStream"]  # Slack would now take it, but the process stopped asking
    third = running.answered(running.ask("What is contrastive learning?", user="U0STUDENT2"))
    assert "stream" not in third
    assert len(wire.calls_to("chat.startStream")) == 2, "no stream is attempted after a permanent refusal"
    assert any(b["type"] == "context_actions" for b in third["blocks"])


def test_control_sequences_are_escaped_in_every_text_field(make_bot, wire, held_model, base_settings):
    held_model.text = HOSTILE
    answers = AnswerService(held_model.settings(data_dir=base_settings.data_dir, answer_cache_size=0))
    held_model.release()
    running = make_bot(answers=answers, slack_voice_clips=False)
    streamed = running.answered(running.ask("What is contrastive learning?"))
    assert "&lt;!channel&gt;" in streamed["text"] and "&amp; co." in streamed["text"]

    wire.fail["chat.startStream"] = "not_allowed"  # the chat.update path, where the fallback text leaked before
    placeholder = running.answered(running.ask("What is contrastive learning?", user="U0STUDENT2"))
    assert "&lt;!channel&gt;" in placeholder["text"]
    update = wire.calls_to("chat.update")[-1]
    assert "&lt;!here&gt;" in update.params["text"]

    sent = [s for call in wire.calls if call.method != "upload" for s in _strings(call.params)]
    leaks = [s for s in sent if CONTROL.search(s)]
    assert not leaks, leaks


def test_text_starts_at_once_and_shows_the_queue_while_the_pool_is_busy(make_bot, wire, held_model, base_settings):
    # One answer at a time and only two listener threads: had a listener waited for an answer, the third
    # question would get no message at all until the first answer finished.
    settings = held_model.settings(data_dir=base_settings.data_dir, answer_workers=1, answer_cache_size=0)
    running = make_bot(answers=AnswerService(settings), slack_voice_clips=False, slack_workers=2)
    questions = []
    for n, text in enumerate(["What is contrastive learning?", "How does Whisper handle long audio?", "How is the voice cloned?"]):
        questions.append(running.ask(text, user=f"U0STUDENT{n}"))
        thread = questions[-1]["event"]["ts"]
        wire.wait_for(lambda thread=thread: wire.thread(CHANNEL, thread), what=f"the stream of question {n}")
        if n == 0:
            held_model.wait_started()

    cards = [wire.thread(CHANNEL, q["event"]["ts"])[0]["tasks"]["search"] for q in questions]
    assert cards[0] == {"title": "Searching the lectures\u2026", "status": "in_progress"}
    assert cards[1]["status"] == "pending" and "next in line" in cards[1]["title"]
    assert cards[2]["status"] == "pending" and "1 question ahead of yours" in cards[2]["title"]
    assert not any(finished(m) for q in questions for m in wire.thread(CHANNEL, q["event"]["ts"])), "nothing is answered yet"
    assert len(wire.calls_to("reactions.add")) == 3, "every question got its reaction at once"

    held_model.release()
    for q in questions:
        assert running.answered(q)["stream"] == "stopped"


def test_the_placeholder_says_how_many_are_ahead(make_bot, wire, held_model, base_settings):
    wire.fail["chat.startStream"] = "not_allowed"
    settings = held_model.settings(data_dir=base_settings.data_dir, answer_workers=1, answer_cache_size=0)
    running = make_bot(answers=AnswerService(settings), slack_voice_clips=False)
    first = running.ask("What is contrastive learning?")
    held_model.wait_started()
    second = running.ask("How does Whisper handle long audio?", user="U0STUDENT2")
    queued = wire.wait_for(
        lambda: [m for m in wire.thread(CHANNEL, second["event"]["ts"]) if "next in line" in m["text"]], what="the queue"
    )
    assert queued[0]["edits"] == 1
    held_model.release()
    assert "contrastive" in running.answered(first)["text"].lower()
    assert "next in line" not in running.answered(second)["text"]
