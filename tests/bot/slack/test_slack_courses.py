"""Slack in a deployment with two courses: channels route to their course, private courses answer
ephemerally, question channels answer without a mention and leave chatter alone, DMs ask which course."""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.courses.catalog import AnswerPolicy, Course, CourseCatalog, save_catalog
from pipelines.courses.course_settings import settings_for
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings
from tests.bot.slack.conftest import RunningBot, answered
from tests.bot.slack.slack_constants import CHANNEL, STUDENT
from tests.fakes.slack_web_api import SlackWire

RAG_QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"
BIO_CHANNEL = "C0BIO00001"
QNA_CHANNEL = "C0QNA00001"
BIO_SRT = """1
00:00:00,000 --> 00:00:06,000
Photosynthesis turns light, water and carbon dioxide into glucose and oxygen.

2
00:00:06,000 --> 00:00:12,000
The light reactions happen in the thylakoid membranes of the chloroplast.
"""


@pytest.fixture(scope="module")
def courses_dir(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("slack-courses")
    rag = Course(id="rag", title="Retrieval", slack_channels=[CHANNEL], policy=AnswerPolicy(answer_without_mention=[QNA_CHANNEL]))
    bio = Course(id="bio", title="Biology", slack_channels=[BIO_CHANNEL], policy=AnswerPolicy(private_answers=True))
    save_catalog(CourseCatalog(courses=[rag, bio], path=data / "courses.toml"), data / "courses.toml")
    shutil.copytree(index_dir / "store", data / "courses" / "rag" / "store")
    lectures = data.parent / "bio-lectures"
    lectures.mkdir(exist_ok=True)
    (lectures / "photosynthesis.srt").write_text(BIO_SRT, encoding="utf-8")
    base = load_settings(data_dir=data, deployment=True)
    assert Ingestor(settings_for(base, bio)).ingest([lectures]).count("added") == 1
    return data


@pytest.fixture
def running(courses_dir: Path, deployment_bot: Callable[..., RunningBot]) -> RunningBot:
    return deployment_bot(courses_dir)


def shown(message: dict) -> str:
    return message.get("text", "") + json.dumps(message.get("blocks", []), ensure_ascii=False)


@pytest.mark.timeout(900)
def test_each_channel_is_answered_from_its_own_course(running: RunningBot, wire: SlackWire, tmp_path: Path) -> None:
    reply = running.answered(running.ask(RAG_QUESTION))
    assert "ct-rag" in shown(reply)  # the retrieval course cites its lectures
    running.ask(RAG_QUESTION, channel=BIO_CHANNEL)  # the same question in the biology channel
    ephemeral = wire.wait_for(lambda: wire.calls_to("chat.postEphemeral"), what="the private answer")
    (call,) = ephemeral
    assert call.params["user"] == STUDENT and call.params["channel"] == BIO_CHANNEL
    assert "ct-rag" not in json.dumps(call.params, ensure_ascii=False)  # never the other course's lectures
    running.drain()
    assert not wire.thread(BIO_CHANNEL, running.sent[-1]["event"]["ts"]), "a private course posts nothing in the channel"
    db = sqlite3.connect(tmp_path / "log.sqlite")  # the answer log names each answer's course, the private one too
    logged = db.execute("SELECT channel, course FROM answers ORDER BY created_at").fetchall()
    db.close()
    assert logged == [(CHANNEL, "rag"), (BIO_CHANNEL, "bio")]


@pytest.mark.timeout(900)
def test_question_channels_answer_without_a_mention_and_ignore_chatter(running: RunningBot, wire: SlackWire) -> None:
    question = running.say(RAG_QUESTION, channel=QNA_CHANNEL)
    reply = answered(wire, question)
    assert "ct-rag" in shown(reply)
    chatter = [
        running.say(text, channel=QNA_CHANNEL)
        for text in ("lunch anyone?", "ok thanks, see you tomorrow", "What time is the pizza party tonight?")
    ]
    running.drain()
    for message in chatter:
        assert not wire.thread(QNA_CHANNEL, message["event"]["ts"]), message["event"]["text"]
    assert not wire.calls_to("chat.postEphemeral"), "nobody who didn't ask the bot is told anything"


@pytest.mark.timeout(900)
def test_a_dm_is_asked_which_course_then_routed_by_prefix(running: RunningBot, wire: SlackWire) -> None:
    newcomer = "U0NEWCOMER"  # no last course yet (other tests here make STUDENT's last course "rag")
    running.say(RAG_QUESTION, channel="D0DM000001", user=newcomer, channel_type="im")
    (which,) = wire.wait_for(lambda: wire.calls_to("chat.postEphemeral"), what="which course")
    assert "Which course" in which.params["text"] and "`rag`" in which.params["text"]
    running.say(f"[rag] {RAG_QUESTION}", channel="D0DM000001", user=newcomer, channel_type="im")
    reply = wire.wait_for(
        lambda: next((m for m in wire.thread("D0DM000001", running.sent[-1]["event"]["ts"]) if "ct-rag" in shown(m)), None),
        what="the answer from the chosen course",
    )
    assert reply
