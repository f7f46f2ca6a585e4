"""Scenario tests: signed Events API requests through the real Bolt HTTP path, Slack played locally."""

from __future__ import annotations

import json

from bot.answering.service import AnswerService
from bot.slack.blocks import WORKING_TEXT
from bot.slack.triage import PLATFORM
from pipelines.settings import load_settings
from tests.bot.slack.conftest import finished
from tests.bot.slack.slack_constants import CHANNEL, SIGNING_SECRET, STUDENT, closed_port
from tests.bot.slack.slack_events import deliver, mention
from voice.render import VoiceRenderer


def _mrkdwn(message: dict) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def _finished(message: dict) -> bool:
    return finished(message)


def test_mention_is_streamed_into_the_thread_with_sources_feedback_and_then_voice(make_bot, wire):
    running = make_bot()
    question = running.ask("What is contrastive learning?")
    event = question["event"]

    reply = running.answered(question)
    assert reply["thread_ts"] == event["ts"], "the answer goes into the question's thread"
    assert reply["recipient"] == (STUDENT, wire.team_id), "a stream in a channel names its recipient"
    (record,) = running.bot.log.thread_turns(PLATFORM, CHANNEL, event["ts"])
    assert reply["text"] == record.answer and "contrastive learning" in reply["text"].lower()
    assert "".join(reply["appends"]) == reply["text"], "the streamed pieces are the answer, nothing else"
    assert reply["tasks"]["search"]["status"] == "complete"
    blocks = reply["blocks"]  # what chat.stopStream put under the streamed text
    sources = [b for b in blocks if b["type"] == "section" and "arrow_forward" in b["text"]["text"]]
    assert sources, _mrkdwn(reply)
    first = sources[0]["text"]["text"]
    assert "Contrastive fine-tuning with triplets" in first
    assert "ct-contrastive-201.vtt#t=1|:arrow_forward: 0:01>" in first, first  # mm:ss link to the exact second
    assert "\n>" in first, "a short quote under the source"
    (feedback,) = [b for b in blocks if b["type"] == "context_actions"]
    (buttons,) = feedback["elements"]
    assert buttons["type"] == "feedback_buttons" and buttons["action_id"] == "answer_feedback"
    kind, answer_id = buttons["positive_button"]["value"].split(":", 1)
    assert kind == "good" and len(answer_id) == 32
    assert buttons["negative_button"]["value"] == f"bad:{answer_id}"
    assert not wire.calls_to("chat.update") and not wire.calls_to("chat.postMessage"), "no placeholder when Slack streams"

    # Ordering: the working reaction and the stream's start come before the text; the clip after the stream stopped.
    wire.wait_for(lambda: wire.calls_to("files.completeUploadExternal"), what="the voice clip")
    methods = [c.method for c in wire.calls]
    assert methods.index("reactions.add") < methods.index("chat.startStream") < methods.index("chat.stopStream")
    assert methods.index("chat.stopStream") < methods.index("files.getUploadURLExternal"), "text never waits for audio"
    complete = wire.calls_to("files.completeUploadExternal")[0]
    assert complete.params["channel_id"] == CHANNEL and complete.params["thread_ts"] == event["ts"]
    (file_id,) = [f["id"] for f in complete.params["files"]]
    clip = wire.uploads[file_id]
    assert clip[:3] == b"ID3" or clip[0] == 0xFF, "an MP3 was uploaded"
    assert len(clip) > 5_000
    assert wire.calls_to("reactions.remove"), "the working reaction is taken off when the answer is there"


def test_placeholder_path_when_slack_does_not_stream(make_bot, wire):
    wire.fail["chat.startStream"] = "not_allowed"
    running = make_bot()
    question = running.ask("What is contrastive learning?")
    event = question["event"]
    reply = running.answered(question)
    blocks = reply["blocks"]
    assert blocks[0]["type"] == "section" and "contrastive learning" in blocks[0]["text"]["text"].lower()
    assert any(b["type"] == "context_actions" for b in blocks), "native feedback buttons in the placeholder path too"
    wire.wait_for(lambda: wire.calls_to("files.completeUploadExternal"), what="the voice clip")
    methods = [c.method for c in wire.calls]
    assert methods.index("reactions.add") < methods.index("chat.startStream") < methods.index("chat.postMessage")
    assert methods.index("chat.postMessage") < methods.index("chat.update") < methods.index("files.getUploadURLExternal")
    assert reply["thread_ts"] == event["ts"]


def test_event_is_acknowledged_while_its_answer_is_still_being_written(make_bot, wire, held_model, base_settings):
    wire.fail["chat.startStream"] = "unknown_method"  # the placeholder path: what the student sees is a message edited in place
    running = make_bot(answers=AnswerService(held_model.settings(data_dir=base_settings.data_dir)), slack_voice_clips=False)
    question = mention("What is contrastive learning?", CHANNEL, STUDENT, wire.team_id, wire.bot_user_id)
    # The model cannot finish until released below: had the ack waited for the answer, this POST would time out.
    delivery = deliver(running.url, json.dumps(question), SIGNING_SECRET)
    assert delivery.status == 200
    held_model.wait_started()
    (placeholder,) = wire.thread(CHANNEL, question["event"]["ts"])
    assert (placeholder["text"], placeholder["edits"]) == (WORKING_TEXT, 0), "the student sees the placeholder while the answer is written"

    held_model.release()
    reply = running.answered(question)
    assert reply["ts"] == placeholder["ts"], "the answer replaces the placeholder"
    assert reply["text"] == held_model.text
    edits = [c for c in wire.calls_to("chat.update") if c.params["ts"] == reply["ts"]]
    assert edits[-1].params["text"] == reply["text"] and "still writing" not in json.dumps(edits[-1].params["blocks"])
    assert "Contrastive fine-tuning with triplets" in _mrkdwn(reply), "the model's [1] is shown as its source"


def test_question_outside_the_course_says_why_there_are_no_sources(make_bot):
    running = make_bot(slack_voice_clips=False)
    reply = running.answered(running.ask("What is the capital of France?"))
    shown = _mrkdwn(reply)
    assert "don't seem to cover" in reply["text"]
    assert "Not covered in the course" in shown and "arrow_forward" not in shown


def test_thread_reply_is_a_follow_up_that_uses_the_thread_history(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    first = running.ask("What is contrastive learning?")
    first_reply = running.answered(first)
    root = first["event"]["ts"]

    # A plain reply in the bot's thread (message.channels, no mention) is a follow-up.
    running.say("can you say more about it?", thread_ts=root)
    reply = wire.wait_for(
        lambda: [m for m in wire.thread(CHANNEL, root) if m["ts"] != first_reply["ts"] and _finished(m)], what="the follow-up answer"
    )[0]
    assert reply["thread_ts"] == root, "the follow-up is answered in the same thread"
    assert "Contrastive fine-tuning with triplets" in _mrkdwn(reply), "history steered the search to the first topic"
    turns = running.bot.log.thread_turns(PLATFORM, CHANNEL, root)
    assert [turn.question for turn in turns] == ["What is contrastive learning?", "can you say more about it?"]
    assert turns[-1].answer == reply["text"], "the thread's history records what was posted"

    # Control: the same words as a new top-level question have no history and are not covered.
    alone = running.answered(running.ask("can you say more about it?"))
    assert "Not covered in the course" in _mrkdwn(alone)


def test_messages_outside_the_bots_threads_and_from_bots_get_nothing(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    running.say("just chatting about lunch")  # top-level channel message, no mention
    running.say("What is contrastive learning?", thread_ts="1690000000.000100")  # someone else's thread
    running.say("What is contrastive learning?", user=None, bot_id="B0OTHERBOT", subtype="bot_message")
    running.say("What is contrastive learning?", user=wire.bot_user_id, bot_id=wire.bot_id)  # our own message
    running.drain()
    assert [c.method for c in wire.calls if c.method != "auth.test"] == []


def test_direct_message_is_answered_in_a_thread(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    dm = running.say("How does Whisper handle long audio?", channel="D0STUDENT1", channel_type="im")
    reply = running.answered(dm)
    assert "Whisper" in reply["text"] and reply["thread_ts"] == dm["event"]["ts"]


def test_a_failing_answer_service_gives_a_visible_error(make_bot, wire, tmp_path):
    broken_settings = load_settings(data_dir=tmp_path / "broken", elasticsearch_url=f"http://127.0.0.1:{closed_port()}")
    running = make_bot(answers=AnswerService(broken_settings), slack_voice_clips=False)
    reply = running.answered(running.ask("What is contrastive learning?"))
    assert "couldn't search the lectures" in reply["text"]
    assert "127.0.0.1" not in reply["text"], "no hostnames or details leak into the chat"
    wire.wait_for(lambda: wire.calls_to("reactions.remove"), what="the working reaction to be taken off")


def test_voice_failure_is_a_context_line_not_a_crash(make_bot, wire, base_settings):
    silent = load_settings(data_dir=base_settings.data_dir, voice_backends="piper", voice_enabled=False)
    running = make_bot(voice=VoiceRenderer(silent))
    question = running.ask("What is contrastive learning?")
    running.answered(question)
    noted = wire.wait_for(
        lambda: [m for m in wire.thread(CHANNEL, question["event"]["ts"]) if "No voice clip" in _mrkdwn(m)], what="the voice note"
    )[0]
    assert "voice is disabled" in _mrkdwn(noted)
    assert "arrow_forward" in _mrkdwn(noted), "the answer and its sources stay in place"
    assert not wire.calls_to("files.getUploadURLExternal")


def test_upload_refused_by_slack_is_reported_in_the_thread(make_bot, wire):
    wire.fail["files.completeUploadExternal"] = "not_in_channel"
    running = make_bot()
    question = running.ask("How does Whisper handle long audio?")
    noted = wire.wait_for(
        lambda: [m for m in wire.thread(CHANNEL, question["event"]["ts"]) if "could not be uploaded" in _mrkdwn(m)], what="the upload note"
    )[0]
    assert "not_in_channel" in _mrkdwn(noted)


def test_too_long_question_gets_a_clear_reply(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    question = running.ask("Explain this pasted log please: " + "contrastive learning and triplets " * 140)
    notice = wire.wait_for(lambda: wire.thread(CHANNEL, question["event"]["ts"]), what="the length notice")[0]
    assert "the limit is 4,000" in notice["text"] and "shorten" in notice["text"]
    running.drain()
    assert not wire.calls_to("chat.update"), "nothing was searched"
    assert not wire.calls_to("reactions.add")
