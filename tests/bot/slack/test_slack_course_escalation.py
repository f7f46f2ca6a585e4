""" "Ask a TA" in a Slack deployment with two courses: each course's escalations go to its own TA channel,
a course without one falls back to the deployment's, and a TA's reply in a course's TA channel reaches the student.

Real signed Events API and block_actions requests into the Bolt app; Slack's Web API played by the local server.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.answering.escalations import EscalationLog
from bot.slack.escalation import ASK_TA, ASKED
from pipelines.courses.catalog import Course, CourseCatalog, save_catalog
from tests.bot.slack.conftest import RunningBot
from tests.bot.slack.slack_constants import CHANNEL, SIGNING_SECRET, STUDENT
from tests.bot.slack.slack_events import block_action, deliver
from tests.fakes.slack_web_api import SlackWire

QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"
ML_CHANNEL = "C0MLCOURSE"  # the course without a TA channel of its own
RAG_TA = "C0RAGTAS01"
DEPLOYMENT_TA = "C0ALLTAS01"
TEACHER = "U0TEACHER1"


@pytest.fixture(scope="module")
def courses_dir(index_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two courses over copies of the sample index: "rag" names its own TA channel, "ml" does not."""
    data = tmp_path_factory.mktemp("slack-course-tas")
    rag = Course(id="rag", title="Retrieval", slack_channels=[CHANNEL], ta_slack_channel=RAG_TA)
    ml = Course(id="ml", title="Machine learning", slack_channels=[ML_CHANNEL])
    save_catalog(CourseCatalog(courses=[rag, ml], path=data / "courses.toml"), data / "courses.toml")
    for course in ("rag", "ml"):
        shutil.copytree(index_dir / "store", data / "courses" / course / "store")
    return data


@pytest.fixture
def start(courses_dir: Path, deployment_bot: Callable[..., RunningBot]) -> Callable[..., RunningBot]:
    """``start(**settings)``: the two-course bot behind its HTTP endpoint, stopped at teardown."""
    return lambda **overrides: deployment_bot(courses_dir, **overrides)


def _offer_in(wire: SlackWire, thread: str) -> str:
    """The answer id on the Ask-a-TA button offered in ``thread``."""

    def offered() -> list[Any]:
        return [
            call
            for call in wire.calls_to("chat.postEphemeral")
            if call.params.get("thread_ts") == thread and ASK_TA in json.dumps(call.params.get("blocks") or [])
        ]

    (offer,) = wire.wait_for(offered, what=f"the Ask-a-TA offer in {thread}")
    return next(b for b in offer.params["blocks"] if b["type"] == "actions")["elements"][0]["value"]


def _ask_and_press(running: RunningBot, wire: SlackWire, channel: str) -> str:
    """A student asks in ``channel`` and presses "Ask a TA" under the answer; returns the student's thread."""
    question = running.ask(QUESTION, channel=channel)
    reply = running.answered(question)
    thread = question["event"]["ts"]
    press = block_action(ASK_TA, _offer_in(wire, thread), STUDENT, channel, reply["ts"], thread, wire.team_id)
    assert deliver(running.url, press, SIGNING_SECRET, content_type="application/x-www-form-urlencoded").status == 200
    wire.wait_for(
        lambda: any(c.params.get("text") == ASKED and c.params.get("thread_ts") == thread for c in wire.calls_to("chat.postEphemeral")),
        what="the confirmation",
    )
    return thread


def _posts_to(wire: SlackWire, channel: str) -> list[Any]:
    return [c for c in wire.calls_to("chat.postMessage") if c.params.get("channel") == channel]


@pytest.mark.timeout(900)
def test_a_course_ta_channel_gets_its_escalations_and_relays_the_reply(start, wire: SlackWire, tmp_path: Path) -> None:
    running = start()  # no deployment-wide TA channel: the course's own is enough for the offer
    thread = _ask_and_press(running, wire, CHANNEL)
    (post,) = wire.wait_for(lambda: _posts_to(wire, RAG_TA), what="the post in the course's TA channel")
    assert QUESTION in json.dumps(post.params["blocks"])
    log = EscalationLog(tmp_path / "log.sqlite")
    (escalation,) = log.list()
    assert (escalation.course, escalation.ta_channel, escalation.thread) == ("rag", RAG_TA, thread)

    # A TA answers in the post's thread in the course's TA channel; the student gets it in theirs.
    assert escalation.ta_message
    running.say("Fusion adds 1/(k + rank) per list; see lecture 3.", channel=RAG_TA, user=TEACHER, thread_ts=escalation.ta_message)
    wire.wait_for(
        lambda: [m for m in wire.thread(CHANNEL, thread) if "1/(k + rank)" in m["text"]],
        what="the relayed reply",
    )
    wire.wait_for(lambda: log.get(escalation.id).status == "resolved", what="the escalation resolved")
    running.drain()
    assert running.bot.log.thread_turns("slack", RAG_TA, escalation.ta_message) == []  # never taken for a question


@pytest.mark.timeout(900)
def test_a_course_without_a_ta_channel_falls_back_to_the_deployments(start, wire: SlackWire, tmp_path: Path) -> None:
    running = start(console_ta_slack_channel=DEPLOYMENT_TA)
    rag_thread = _ask_and_press(running, wire, CHANNEL)
    ml_thread = _ask_and_press(running, wire, ML_CHANNEL)
    wire.wait_for(lambda: _posts_to(wire, DEPLOYMENT_TA), what="the post in the deployment's TA channel")
    running.drain()
    (rag_post,) = _posts_to(wire, RAG_TA)
    (ml_post,) = _posts_to(wire, DEPLOYMENT_TA)
    assert f"<#{CHANNEL}>" in json.dumps(rag_post.params["blocks"]) and f"<#{ML_CHANNEL}>" in json.dumps(ml_post.params["blocks"])
    placed = {e.thread: (e.course, e.ta_channel) for e in EscalationLog(tmp_path / "log.sqlite").list()}
    assert placed == {rag_thread: ("rag", RAG_TA), ml_thread: ("ml", DEPLOYMENT_TA)}
