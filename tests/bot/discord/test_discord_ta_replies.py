"""A TA answering an escalation inside Discord: a reply to the TA-channel post, or a message in a thread started from it,
reaches the student (as the console's reply would) and resolves the escalation; through discord.py and the local REST server."""

from __future__ import annotations

import asyncio
from typing import Any

from bot.answering.escalations import FAILED, RESOLVED, EscalationLog
from bot.discord.escalation import CUSTOM_ID
from bot.discord.ta_replies import DELIVERED
from tests.bot.discord.discord_payloads import GUILD_ID, STUDENT_ID, TEXT_CHANNEL_ID, button_interaction, command_interaction, option
from tests.bot.discord.discord_scenario import Scenario
from tests.bot.discord.test_discord_question_channels import channel_message

TA_CHANNEL = 935000000000000001
TA_ID = 937000000000000001


async def escalate(s: Scenario, question: str) -> tuple[Any, Any]:
    """/ask, then "Ask a TA" under the answer: (the answer call, the TA-channel post call)."""
    ask = command_interaction("ask", [option("question", question)])
    s.interact(ask)
    answer = (await s.until(ask, 2))[1]
    posts_before = len(s.api.find("POST", f"/channels/{TA_CHANNEL}/messages"))
    press = button_interaction(CUSTOM_ID, int(answer.response["id"]), answer.payload["components"])
    s.interact(press)
    await s.until(press, 2)
    posts = await s.api.wait_for(lambda calls: len([c for c in calls if c.path == f"/channels/{TA_CHANNEL}/messages"]) > posts_before)
    return answer, [c for c in posts if c.path == f"/channels/{TA_CHANNEL}/messages"][posts_before]


def thread_create(thread_id: str, parent_id: int) -> dict[str, Any]:
    """THREAD_CREATE for a public thread a TA started from a message (the thread shares the message's id)."""
    return {
        "id": thread_id,
        "guild_id": str(GUILD_ID),
        "parent_id": str(parent_id),
        "owner_id": str(TA_ID),
        "type": 11,
        "name": "re: question",
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {"archived": False, "auto_archive_duration": 1440, "archive_timestamp": "2026-01-01T00:00:00+00:00"},
        "newly_created": True,
    }


def student_replies(s: Scenario) -> list[Any]:
    return [c for c in s.api.find("POST", f"/channels/{TEXT_CHANNEL_ID}/messages") if "A TA answered" in c.payload.get("content", "")]


def test_a_ta_reply_in_discord_reaches_the_student_and_resolves_the_escalation(run_bot, tmp_path) -> None:
    async def body(s: Scenario) -> None:
        log = EscalationLog(s.bot.ta.settings.feedback_db_path)
        answer, post = await escalate(s, "What is contrastive learning?")
        assert "Reply to this message" in post.payload["content"]

        # The TA replies to the post in the TA channel.
        ta_reply = channel_message(
            "See the lecture on triplets at 0:40.",
            channel_id=TA_CHANNEL,
            author_id=TA_ID,
            type=19,
            message_reference={"type": 0, "message_id": post.response["id"], "channel_id": str(TA_CHANNEL), "guild_id": str(GUILD_ID)},
        )
        s.message(ta_reply)
        await s.api.wait_for(lambda calls: any(c.payload and c.payload.get("content") == DELIVERED for c in calls if c.method == "POST"))
        (relayed,) = student_replies(s)
        assert relayed.payload["content"].startswith(f"<@{STUDENT_ID}> A TA answered") and "triplets at 0:40" in relayed.payload["content"]
        assert relayed.payload["message_reference"]["message_id"] == answer.response["id"]  # under the bot's answer
        assert relayed.payload["allowed_mentions"] == {"parse": [], "users": [str(STUDENT_ID)]}
        (confirmation,) = [c for c in s.api.find("POST", f"/channels/{TA_CHANNEL}/messages") if c.payload.get("content") == DELIVERED]
        assert str(confirmation.payload["message_reference"]["message_id"]) == ta_reply["id"]
        (escalation,) = await asyncio.to_thread(log.list)
        assert (escalation.status, escalation.ta_reply, escalation.resolved_by) == (
            RESOLVED,
            "See the lecture on triplets at 0:40.",
            f"discord:{TA_ID}",
        )

        # A second reply to a resolved escalation is not sent again.
        again = channel_message(
            "One more thing!",
            channel_id=TA_CHANNEL,
            author_id=TA_ID,
            type=19,
            message_reference={"type": 0, "message_id": post.response["id"], "channel_id": str(TA_CHANNEL), "guild_id": str(GUILD_ID)},
        )
        s.message(again)
        await s.until_logged(f"message {again['id']} in the TA channel not relayed")
        assert len(student_replies(s)) == 1

        # Another escalation, answered in a thread started from its post; the student's channel refuses this time.
        _, second_post = await escalate(s, "How does reciprocal rank fusion combine BM25 and dense retrieval?")
        s.bot._connection.parse_thread_create(thread_create(second_post.response["id"], TA_CHANNEL))  # type: ignore[arg-type]
        s.api.fail("POST", f"^/channels/{TEXT_CHANNEL_ID}/messages$", 403, 50013, "Missing Permissions")
        in_thread = channel_message("Fusion adds 1/(k + rank) per list.", channel_id=int(second_post.response["id"]), author_id=TA_ID)
        s.message(in_thread)
        await s.api.wait_for(lambda calls: any(c.path == f"/channels/{second_post.response['id']}/messages" for c in calls))
        (warning,) = s.api.find("POST", f"/channels/{second_post.response['id']}/messages")
        assert warning.payload["content"].startswith("\N{WARNING SIGN} Not delivered: Discord refused the reply: HTTP 403")
        failed = next(e for e in await asyncio.to_thread(log.list) if e.ta_message == second_post.response["id"])
        assert (failed.status, failed.ta_reply) == (FAILED, "Fusion adds 1/(k + rank) per list.")

    run_bot(body, data_dir=tmp_path, voice_enabled=False, console_ta_discord_channel=str(TA_CHANNEL))
