""" "Ask a TA" through the Discord front door: the button under /ask answers, the TA-channel post with a role mention, and the
console's reply posted in the student's channel, all through discord.py against the local REST server."""

from __future__ import annotations

import asyncio

from bot.answering.escalations import EscalationLog
from bot.console.relay import DiscordRelay
from bot.discord.escalation import ASKED, CUSTOM_ID
from tests.bot.discord.discord_payloads import STUDENT_ID, TEXT_CHANNEL_ID, button_interaction, command_interaction, option, reply_message
from tests.bot.discord.discord_scenario import Scenario

TA_CHANNEL = "935000000000000001"
TA_ROLE = "936000000000000001"
QUESTION = "What is contrastive learning?"


def _custom_ids(payload) -> list[str]:
    return [item["custom_id"] for row in payload.get("components") or [] for item in row["components"]]


def test_ask_a_ta_posts_to_the_ta_channel_and_the_console_reply_reaches_the_student(run_bot, tmp_path) -> None:
    async def body(s: Scenario) -> None:
        ask = command_interaction("ask", [option("question", QUESTION)])
        s.interact(ask)
        calls = await s.until(ask, 2)
        answer = calls[1]
        assert CUSTOM_ID in _custom_ids(answer.payload)
        message_id = int(answer.response["id"])

        press = button_interaction(CUSTOM_ID, message_id, answer.payload["components"])
        s.interact(press)
        await s.api.wait_for(lambda seen: any(c.method == "POST" and c.path == f"/channels/{TA_CHANNEL}/messages" for c in seen))
        (post,) = s.api.find("POST", f"/channels/{TA_CHANNEL}/messages")
        assert post.payload["content"].startswith(f"<@&{TA_ROLE}> <@{STUDENT_ID}> asked for a TA")
        assert QUESTION in post.payload["content"]
        assert (
            post.payload["allowed_mentions"]["roles"] == [int(TA_ROLE)] and post.payload["allowed_mentions"]["parse"] == []
        )  # no @everyone, no user pings
        pressed = await s.until(press, 2)
        assert pressed[0].payload["type"] == 5 and pressed[0].payload["data"]["flags"] & 64  # deferred, ephemeral
        assert pressed[1].payload["content"] == ASKED

        log = EscalationLog(s.bot.ta.settings.feedback_db_path)
        (escalation,) = await asyncio.to_thread(log.list)
        assert (escalation.platform, escalation.user, escalation.thread, escalation.question) == (
            "discord",
            str(STUDENT_ID),
            str(TEXT_CHANNEL_ID),
            QUESTION,
        )
        assert escalation.ta_message == str(post.response["id"]) and escalation.message == str(message_id)

        # The TA answers from the console: a channel message replying to the answer, mentioning only the student.
        relay = DiscordRelay("test-token", s.api.base)
        await asyncio.to_thread(relay.send, escalation, "See the lecture on triplets at 0:40.")
        (reply,) = s.api.find("POST", f"/channels/{TEXT_CHANNEL_ID}/messages")
        assert reply.payload["content"].startswith(f"<@{STUDENT_ID}> A TA answered") and "triplets at 0:40" in reply.payload["content"]
        assert reply.payload["message_reference"]["message_id"] == str(message_id)
        assert reply.payload["allowed_mentions"] == {"parse": [], "users": [str(STUDENT_ID)]}

    run_bot(body, data_dir=tmp_path, voice_enabled=False, console_ta_discord_channel=TA_CHANNEL, console_ta_discord_role=TA_ROLE)


def test_without_a_ta_channel_there_is_no_button(run_bot, tmp_path) -> None:
    async def body(s: Scenario) -> None:
        ask = command_interaction("ask", [option("question", QUESTION)])
        s.interact(ask)
        calls = await s.until(ask, 2)
        assert CUSTOM_ID not in _custom_ids(calls[1].payload)

    run_bot(body, data_dir=tmp_path, voice_enabled=False)


def test_a_follow_up_answer_can_be_escalated_too(run_bot, tmp_path) -> None:
    async def body(s: Scenario) -> None:
        ask = command_interaction("ask", [option("question", QUESTION)])
        s.interact(ask)
        answer = (await s.until(ask, 2))[1]
        follow_up = reply_message("and how are the negatives chosen?", int(answer.response["id"]))
        s.message(follow_up)
        in_channel = f"/channels/{TEXT_CHANNEL_ID}/messages"
        replies = await s.api.wait_for(lambda calls: any(c.path == in_channel for c in calls))
        (reply,) = [c for c in replies if c.path == in_channel][:1]
        assert str(reply.payload["message_reference"]["message_id"]) == follow_up["id"]
        assert CUSTOM_ID in _custom_ids(reply.payload)

    run_bot(body, data_dir=tmp_path, voice_enabled=False, console_ta_discord_channel=TA_CHANNEL, console_ta_discord_role=TA_ROLE)
