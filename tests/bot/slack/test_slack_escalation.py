""" "Ask a TA" through the Slack front door: the offer under an answer, the TA-channel post, a TA's reply relayed to the student.

Real signed Events API and block_actions requests into the Bolt app; Slack's Web API played by the
local server. Without a TA channel configured the offer never appears.
"""

from __future__ import annotations

import json

from bot.answering.escalations import EscalationLog
from bot.slack.escalation import ALREADY, ASK_TA, ASKED
from tests.bot.slack.slack_constants import CHANNEL, SIGNING_SECRET, STUDENT
from tests.bot.slack.slack_events import block_action, deliver

TA_CHANNEL = "C0TASTAFF1"
TEACHER = "U0TEACHER1"


def _offers(wire):
    return [call for call in wire.calls_to("chat.postEphemeral") if ASK_TA in json.dumps(call.params.get("blocks") or [])]


def test_student_asks_a_ta_and_the_ta_reply_reaches_their_thread(make_bot, wire):
    running = make_bot(slack_voice_clips=False, console_ta_slack_channel=TA_CHANNEL)
    question = running.ask("What is contrastive learning?")
    reply = running.answered(question)
    thread = question["event"]["ts"]
    (offer,) = wire.wait_for(lambda: _offers(wire), what="the Ask-a-TA offer")
    assert offer.params["user"] == STUDENT and offer.params["thread_ts"] == thread
    button = next(b for b in offer.params["blocks"] if b["type"] == "actions")["elements"][0]
    answer_id = button["value"]

    press = block_action(ASK_TA, answer_id, STUDENT, CHANNEL, reply["ts"], thread, wire.team_id)
    assert deliver(running.url, press, SIGNING_SECRET, content_type="application/x-www-form-urlencoded").status == 200
    posts = wire.wait_for(
        lambda: [c for c in wire.calls_to("chat.postMessage") if c.params.get("channel") == TA_CHANNEL], what="the TA post"
    )
    assert "What is contrastive learning?" in json.dumps(posts[0].params["blocks"]) and f"<@{STUDENT}>" in json.dumps(
        posts[0].params["blocks"]
    )
    wire.wait_for(lambda: any(c.params.get("text") == ASKED for c in wire.calls_to("chat.postEphemeral")), what="the confirmation")
    log = EscalationLog(running.bot.log.path)
    (escalation,) = log.list()
    assert (escalation.status, escalation.user, escalation.thread, escalation.answer) == ("open", STUDENT, thread, reply["text"])

    # Pressing again does not ask twice.
    deliver(running.url, press, SIGNING_SECRET, content_type="application/x-www-form-urlencoded")
    wire.wait_for(lambda: any(c.params.get("text") == ALREADY for c in wire.calls_to("chat.postEphemeral")), what="already asked")
    ta_post_ts = escalation.ta_message
    assert ta_post_ts and len([c for c in wire.calls_to("chat.postMessage") if c.params.get("channel") == TA_CHANNEL]) == 1

    # The TA answers in the TA post's thread; the student gets it in theirs.
    running.say(
        "Contrastive learning pulls matching pairs together; see lecture 2 at 1:05.", channel=TA_CHANNEL, user=TEACHER, thread_ts=ta_post_ts
    )
    relayed = wire.wait_for(
        lambda: [m for m in wire.thread(CHANNEL, thread) if "pulls matching pairs together" in m["text"]], what="the relayed reply"
    )
    assert f"<@{STUDENT}>" in relayed[0]["text"] and "A TA answered" in relayed[0]["text"]
    wire.wait_for(lambda: log.get(escalation.id).status == "resolved", what="the escalation resolved")
    assert log.get(escalation.id).resolved_by == f"slack:{TEACHER}"
    wire.wait_for(lambda: any("Sent to the student" in m["text"] for m in wire.thread(TA_CHANNEL, ta_post_ts)), what="the TA confirmation")
    running.drain()
    assert running.bot.log.thread_turns("slack", TA_CHANNEL, ta_post_ts) == []  # the TA's reply was never taken for a question


def test_without_a_ta_channel_no_offer_is_made(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    question = running.ask("What is contrastive learning?")
    running.answered(question)
    running.drain()
    assert _offers(wire) == []
