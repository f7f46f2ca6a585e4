"""A TA's reply to an escalation, written in Discord, relayed to the student (as Slack's TA threads are).

An escalation is announced by a post in its course's TA channel (:mod:`bot.discord.escalation`).
A TA answers it right there, either by replying to that post or by writing in a thread started
from it (a thread started from a message shares the message's id). The reply goes to the student
exactly as the instructor console would send it (:class:`bot.console.relay.DiscordRelay`: in the
student's channel, replying to the bot's answer, mentioning only the student), the escalation is
resolved, and the TA is told it was delivered (or why not, with the escalation marked failed so
the console can retry). Replies to escalations already resolved are left alone.
"""

from __future__ import annotations

import asyncio
import logging

import discord

from bot.answering.escalations import RESOLVED, Escalation, EscalationLog, TAChannels
from bot.console.relay import DiscordRelay, RelayError
from bot.discord.context import CourseTA
from bot.discord.escalation import PLATFORM

logger = logging.getLogger(__name__)

DELIVERED = "\N{WHITE HEAVY CHECK MARK} Sent to the student; the escalation is resolved."
NOT_DELIVERED = "\N{WARNING SIGN} Not delivered: {error}"


def ta_post_of(message: discord.Message, ta_channels: frozenset[str]) -> tuple[str, str] | None:
    """(TA channel, TA post) the message answers: a reply to a post in a TA channel, or a message in a thread started from one."""
    channel = message.channel
    parent = getattr(channel, "parent_id", None)
    if parent is not None and str(parent) in ta_channels:
        return str(parent), str(channel.id)
    if str(channel.id) in ta_channels and message.reference is not None and message.reference.message_id is not None:
        return str(channel.id), str(message.reference.message_id)
    return None


async def on_ta_message(ta: CourseTA, message: discord.Message, http: discord.http.HTTPClient) -> bool:
    """Relay ``message`` when it is a TA's reply to an open escalation; returns whether it was one (then nothing else handles it)."""
    if message.author.bot or message.webhook_id is not None:
        return False
    ta_channels = TAChannels.of(ta.settings, ta.desk.catalog).all_discord()
    post = ta_post_of(message, ta_channels) if ta_channels else None
    if post is None:
        return False
    log = EscalationLog(ta.settings.feedback_db_path)
    escalation = await asyncio.to_thread(log.by_ta_post, PLATFORM, *post)
    if escalation is None:
        return False
    reply = (message.content or "").strip()
    if escalation.status == RESOLVED or not reply:
        logger.debug("message %s in the TA channel not relayed: escalation %s is resolved or the reply empty", message.id, escalation.id)
        return True
    await relay(log, escalation, reply, message, http)
    return True


async def relay(log: EscalationLog, escalation: Escalation, reply: str, message: discord.Message, http: discord.http.HTTPClient) -> None:
    """Deliver through the console's relay (same message, same mentions), then record and confirm the outcome to the TA."""
    sender = DiscordRelay(http.token or "", discord.http.Route.BASE)
    try:
        await asyncio.to_thread(sender.send, escalation, reply)
    except RelayError as error:
        logger.warning("could not relay the TA reply to escalation %s: %s", escalation.id, error)
        await asyncio.to_thread(log.fail, escalation.id, reply, str(error))
        await _confirm(message, NOT_DELIVERED.format(error=error))
        return
    await asyncio.to_thread(log.resolve, escalation.id, reply, f"discord:{message.author.id}")
    await _confirm(message, DELIVERED)


async def _confirm(message: discord.Message, text: str) -> None:
    try:
        await message.reply(text, mention_author=False)
    except discord.HTTPException as error:
        logger.warning("could not confirm in the TA channel: %s", error)
