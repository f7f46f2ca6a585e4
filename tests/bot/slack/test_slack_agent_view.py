"""The agent (assistant) view: suggested prompts from the course, a status while searching, a thread title."""

from __future__ import annotations

import json

from bot.slack.agent import GENERIC_PROMPTS, MAX_PROMPTS, PromptBook, course_prompts
from pipelines.settings import load_settings
from tests.bot.slack.slack_events import event_callback, message, new_ts

DM = "D0STUDENT1"
STUDENT = "U0STUDENT1"
SAMPLE_TITLES = {
    "Retrieval-augmented generation, step by step",
    "Contrastive fine-tuning with triplets",
    "Transcribing lectures with Whisper",
    "Voice cloning for the teaching assistant",
}


def test_a_new_agent_thread_gets_prompts_from_the_course(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    thread_ts = new_ts()
    started = {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": STUDENT,
            "context": {"channel_id": "C0COURSE01", "team_id": wire.team_id, "enterprise_id": None},
            "channel_id": DM,
            "thread_ts": thread_ts,
        },
        "event_ts": new_ts(),
    }
    assert running.send(event_callback(started, wire.team_id, wire.bot_user_id)).status == 200
    (shown,) = wire.wait_for(lambda: wire.prompts, what="the suggested prompts")
    assert (shown["channel_id"], shown["thread_ts"]) == (DM, thread_ts)
    assert 1 <= len(shown["prompts"]) <= MAX_PROMPTS
    assert {p["title"] for p in shown["prompts"]} <= {t.replace("&", "&amp;") for t in SAMPLE_TITLES}, "prompts name the course's lectures"
    assert all(p["message"].startswith("In \u201c") for p in shown["prompts"])


def test_the_messages_tab_gets_prompts_and_the_home_tab_nothing(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    for tab in ("home", "messages"):
        opened = {"type": "app_home_opened", "user": STUDENT, "channel": DM, "tab": tab, "event_ts": new_ts()}
        assert running.send(event_callback(opened, wire.team_id, wire.bot_user_id)).status == 200
    context_changed = {
        "type": "assistant_thread_context_changed",
        "assistant_thread": {"user_id": STUDENT, "context": {}, "channel_id": DM, "thread_ts": new_ts()},
        "event_ts": new_ts(),
    }
    assert running.send(event_callback(context_changed, wire.team_id, wire.bot_user_id)).status == 200
    running.drain()
    (shown,) = wire.prompts
    assert shown["channel_id"] == DM and shown["thread_ts"] is None


def test_a_question_in_the_agent_view_sets_status_and_title_then_streams_the_answer(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    root = new_ts()
    asked = running.say("&lt;!here&gt; how does Whisper handle long audio?", channel=DM, channel_type="im", thread_ts=root)
    reply = running.answered(asked)
    assert reply["stream"] == "stopped" and "Whisper" in reply["text"] and reply["thread_ts"] == root
    (status,) = wire.statuses[(DM, root)]
    assert status["status"] == "is searching the lectures\u2026" and status["loading_messages"] == ["Searching the lectures\u2026"]
    title = wire.titles[(DM, root)]
    assert "how does Whisper handle long audio?" in title and "<!here>" not in title and "&lt;!here&gt;" in title
    methods = [c.method for c in wire.calls]
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.startStream")

    # A follow-up in the same thread keeps its title.
    follow = running.say("and what about timestamps?", channel=DM, channel_type="im", thread_ts=root)
    wire.wait_for(lambda: len(wire.statuses[(DM, root)]) == 2, what="the follow-up's status")
    running.answered(follow)
    assert len(wire.calls_to("assistant.threads.setTitle")) == 1


def test_channel_questions_get_no_agent_calls(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    running.answered(running.ask("What is contrastive learning?"))
    assert not [c for c in wire.calls if c.method.startswith("assistant.")]


def test_prompts_come_from_salient_points_and_fall_back_to_generic_ones(base_settings, tmp_path):
    prompts = course_prompts(base_settings)
    assert {p.title for p in prompts} <= SAMPLE_TITLES and prompts
    assert all("\u201d, what does this mean: \u201c" in p.message for p in prompts)
    empty = load_settings(data_dir=tmp_path / "empty")
    assert [(p.title, p.message) for p in PromptBook(empty).for_user("U1")] == [(p["title"], p["message"]) for p in GENERIC_PROMPTS]
    book = PromptBook(base_settings)
    assert len(book.for_user("U1")) <= MAX_PROMPTS
    assert json.dumps([p.to_slack() for p in book.for_user("U1")])


def test_dm_without_agent_view_still_works(make_bot, wire):
    """A plain DM (no thread yet) is answered in a thread on the question, as before."""
    running = make_bot(slack_voice_clips=False)
    dm = message("What is contrastive learning?", DM, STUDENT, wire.team_id, wire.bot_user_id, channel_type="im")
    assert running.send(dm).status == 200
    reply = running.answered(dm)
    assert reply["thread_ts"] == dm["event"]["ts"]
