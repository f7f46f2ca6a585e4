"""Answering without ``/ask`` in a course's question channels (``answer_without_mention_discord``).

In those channels a member's plain message that reads as a question (the test Slack's question
channels use, :func:`bot.answering.guards.looks_like_question`) is answered like ``/ask`` answers it:
through the course desk (pause, rate limits, hint mode) and the shared answer pool, the text first
as a reply to the student's message, then the voice clip. Nobody asked the bot, so it stays silent
unless it has something to say: chatter, bots' messages, replies to classmates, questions the
lectures don't cover, a paused or busy course, a student in their cooldown and any failure leave
no trace in the channel (only a log line). Replies to our answers, and messages in threads, are
follow-ups and stay with :func:`bot.discord.ask.on_follow_up`.

Discord sends a message's text only with the privileged Message Content intent, which the bot asks
for when some course lists such channels (:func:`needs_message_content`).
"""

from __future__ import annotations

import asyncio
import logging
import re

import discord

from bot.answering.escalations import TAChannels
from bot.answering.guards import looks_like_question
from bot.answering.service import QuestionError
from bot.discord.ask import reply_with_answer, settle
from bot.discord.context import CourseTA
from bot.discord.guards import GuardRejected
from pipelines.courses.catalog import CourseCatalog
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

# Mentions of users, roles and channels say who is addressed, not what is asked.
_MENTION = re.compile(r"<(?:@[!&]?|#)\d+>")
# A person writing (a plain message, or a reply); joins, pins and thread notices are not questions.
_WRITTEN = (discord.MessageType.default, discord.MessageType.reply)


def question_channels(catalog: CourseCatalog) -> frozenset[int]:
    """The channels whose courses answer plain questions without ``/ask``."""
    return frozenset(int(channel) for course in catalog.courses for channel in course.policy.answer_without_mention_discord)


def needs_message_content(settings: Settings, catalog: CourseCatalog) -> bool:
    """Whether the bot must read plain messages: follow-ups, question channels or TA replies in a TA channel."""
    return settings.discord_follow_ups or bool(question_channels(catalog)) or bool(TAChannels.of(settings, catalog).all_discord())


def question_text(content: str) -> str:
    """The message as a question: mentions dropped, whitespace collapsed."""
    return " ".join(_MENTION.sub(" ", content or "").split())


def _ignored(message: discord.Message, why: str) -> bool:
    logger.debug("message %s in a question channel ignored: %s", message.id, why)
    return True


async def on_channel_message(ta: CourseTA, message: discord.Message) -> bool:
    """Answer ``message`` when it is a question asked in a question channel (as the courses file says now).

    Returns whether the message was a question channel's own (answered or deliberately ignored);
    False leaves it to the follow-up handler (other channels, threads, replies to our answers)."""
    if message.channel.id not in question_channels(ta.desk.catalog):
        return False
    reference = message.reference.message_id if message.reference else None
    if ta.conversations.is_ours(reference):
        return False  # a reply to one of our answers is a follow-up
    if message.author.bot or message.webhook_id is not None:
        return _ignored(message, "from a bot or webhook")
    if message.type not in _WRITTEN:
        return _ignored(message, f"a {message.type.name} message")
    if reference is not None:
        return _ignored(message, "a reply to someone else's message")
    if not ta.guards.message_allowed(message):
        return _ignored(message, "a place not served")
    question = question_text(message.content)
    if not looks_like_question(question):
        return _ignored(message, "chatter, not a question")
    try:
        question = ta.service.validate(question)
    except QuestionError as error:
        return _ignored(message, str(error))
    try:
        ta.guards.charge(message.author.id)
    except GuardRejected:
        return _ignored(message, "the student is in their cooldown")
    guild = str(message.guild.id) if message.guild else None
    ticket = await asyncio.to_thread(ta.desk.discord, str(message.author.id), guild, str(message.channel.id), question)
    if ticket.service is None:
        logger.info("question %s in channel %s not answered: %s", message.id, message.channel.id, ticket.refusal)
        return True
    if ticket.private:  # Discord has no ephemeral reply to a plain message: such a course is asked with /ask
        logger.info("question %s in channel %s not answered: the course answers privately (only /ask can)", message.id, message.channel.id)
        return True
    pending, _ = await ta.ask(ticket.question or question, [], ticket)
    answer, problem = await settle(pending, question)
    if answer is None:
        logger.warning("question %s in channel %s not answered: %s", message.id, message.channel.id, problem)
        return True
    if not answer.grounded:
        logger.info("message %s in channel %s left alone: the lectures don't cover it", message.id, message.channel.id)
        return True
    try:
        await reply_with_answer(ta, message, answer, ticket, history=[], also=[message.id])
    except discord.HTTPException as error:
        logger.warning("could not answer question %s in channel %s: %s", message.id, message.channel.id, error)
    return True
