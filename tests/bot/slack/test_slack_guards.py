"""Guards: forged requests, Slack retries, double delivery, rate limits, channel allow-lists."""

from __future__ import annotations

import json

from bot.answering.guards import ChannelAllowList, RateLimiter, SeenEvents
from tests.bot.slack.slack_constants import CHANNEL, SIGNING_SECRET, STUDENT
from tests.bot.slack.slack_events import deliver, mention, message, sign


def test_forged_signature_is_rejected_and_nothing_happens(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    body = json.dumps(mention("What is contrastive learning?", CHANNEL, STUDENT, wire.team_id, wire.bot_user_id))
    forged = deliver(running.url, body, SIGNING_SECRET, signature=sign("not-the-real-signing-secret-123", body))
    stale = deliver(running.url, body, SIGNING_SECRET, signature=sign(SIGNING_SECRET, body, timestamp=1_600_000_000))
    tampered = deliver(running.url, body.replace("contrastive", "adversarial"), SIGNING_SECRET, signature=sign(SIGNING_SECRET, body))
    assert (forged.status, stale.status, tampered.status) == (401, 401, 401)
    running.drain()
    assert [c.method for c in wire.calls if c.method != "auth.test"] == []


def test_slack_retries_never_produce_a_second_answer(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    question = running.ask("How does Whisper handle long audio?")
    for attempt in ("1", "2"):
        retry = running.send(question, extra_headers={"X-Slack-Retry-Num": attempt, "X-Slack-Retry-Reason": "http_timeout"})
        assert retry.status == 200, "a retry is acknowledged so Slack stops retrying"
    running.answered(question)
    running.drain()
    answers = [
        c
        for c in wire.calls_to("chat.startStream") + wire.calls_to("chat.postMessage")
        if c.params.get("thread_ts") == question["event"]["ts"]
    ]
    assert len(answers) == 1
    assert len(wire.calls_to("reactions.add")) == 1


def test_mention_in_the_bots_thread_arriving_twice_is_answered_once(make_bot, wire):
    running = make_bot(slack_voice_clips=False)
    first = running.ask("What is contrastive learning?")
    running.answered(first)
    root = first["event"]["ts"]
    as_mention = mention("and how are triplets built?", CHANNEL, STUDENT, wire.team_id, wire.bot_user_id, thread_ts=root)
    as_message = message(as_mention["event"]["text"], CHANNEL, STUDENT, wire.team_id, wire.bot_user_id, thread_ts=root)
    as_message["event"]["ts"] = as_message["event"]["event_ts"] = as_mention["event"]["ts"]
    assert running.send(as_mention).status == 200
    assert running.send(as_message).status == 200
    running.drain()
    assert len([m for m in wire.thread(CHANNEL, root) if m["edits"]]) == 2, "one answer per question"


def test_rate_limited_student_gets_a_friendly_message(make_bot, wire):
    running = make_bot(slack_rate_limit=1, slack_rate_window_s=600, slack_voice_clips=False)
    running.answered(running.ask("What is contrastive learning?"))
    running.ask("How does Whisper handle long audio?")
    ephemeral = wire.wait_for(lambda: wire.calls_to("chat.postEphemeral"), what="the rate-limit message")[0]
    assert ephemeral.params["user"] == STUDENT
    assert "try again in" in ephemeral.params["text"] and "seconds" in ephemeral.params["text"]
    other = running.ask("How does Whisper handle long audio?", user="U0STUDENT2")
    assert "Whisper" in running.answered(other)["text"], "the limit is per student"
    running.drain()
    assert len(wire.calls_to("chat.startStream")) == 2


def test_channel_allow_list_refuses_elsewhere_and_says_where(make_bot, wire):
    running = make_bot(slack_channels="C0ALLOWED1", slack_voice_clips=False)
    running.ask("What is contrastive learning?", channel=CHANNEL)
    refusal = wire.wait_for(lambda: wire.calls_to("chat.postEphemeral"), what="the refusal")[0]
    assert refusal.params["channel"] == CHANNEL and refusal.params["user"] == STUDENT
    assert "<#C0ALLOWED1>" in refusal.params["text"] and "direct message" in refusal.params["text"]
    allowed = running.ask("What is contrastive learning?", channel="C0ALLOWED1")
    assert "contrastive" in running.answered(allowed)["text"].lower()
    running.drain()
    assert not [c for c in wire.calls_to("chat.startStream") + wire.calls_to("chat.postMessage") if c.params["channel"] == CHANNEL]


def test_rate_limiter_slides_and_tells_how_long_to_wait():
    now = [1000.0]
    limiter = RateLimiter(2, 60.0, clock=lambda: now[0])
    assert limiter.check("u").allowed and limiter.check("u").allowed
    refused = limiter.check("u")
    assert not refused.allowed and refused.retry_after_s == 60.0
    assert "60 seconds" in refused.message()
    now[0] += 30
    assert not limiter.check("u").allowed, "refusals do not reset the window, and it slides"
    assert limiter.check("v").allowed
    now[0] += 30.5
    assert limiter.check("u").allowed


def test_allow_list_and_seen_events_decisions():
    anywhere = ChannelAllowList()
    assert anywhere.check("C1", direct=False).allowed
    no_dms = ChannelAllowList(["C1"], allow_direct=False)
    assert not no_dms.check("D1", direct=True).allowed and "C1" in no_dms.check("D1", direct=True).reason
    assert not no_dms.check("C2", direct=False).allowed
    now = [0.0]
    seen = SeenEvents(ttl_s=10, clock=lambda: now[0])
    assert seen.claim("event:1", "message:a") and not seen.claim("event:2", "message:a")
    now[0] = 11
    assert seen.claim("event:1", "message:a"), "keys expire after the TTL"
