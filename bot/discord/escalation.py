"""Discord's side of the human TA: an "Ask a TA" button under /ask answers and the post in the TA channel.

The TA channel of an answer is its course's ``ta_discord_channel`` (courses file) when the course
names one, else ``COURSE_TA_CONSOLE_TA_DISCORD_CHANNEL`` (:class:`TAChannels`); where neither is
set the button is not added. Pressing it records an escalation in the answer log (question, the
bot's answer, the student's channel and message; the course comes from the answer log's row for
that message, or from the button itself, which names the course of the answer it sits under in a
deployment with several courses), posts it in the course's TA channel mentioning ``COURSE_TA_CONSOLE_TA_DISCORD_ROLE``
(only that role is pinged), and tells the student ephemerally. The TA answers by replying to that post (or in a
thread started from it; :mod:`bot.discord.ta_replies`) or from the instructor console; either way the reply is
posted in the student's channel as a reply to the answer (``bot/console/relay.py``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord
from discord import app_commands

from bot.answering.escalations import EscalationLog, TAChannels
from bot.discord.context import CourseTAClient
from bot.discord.error_reply import reply_error
from pipelines.courses.catalog import DEFAULT_COURSE_ID, Course
from pipelines.settings import Settings

logger = logging.getLogger(__name__)

PLATFORM = "discord"
CUSTOM_ID = "course-ta:ask-ta"
ASKED = "A TA has been asked; their reply will appear in this channel."
ALREADY = "A TA has already been asked about this answer; their reply will appear in this channel."
UNKNOWN = "I can't find that answer any more (I keep recent ones), so I couldn't pass it on. Please ask the course staff directly."
UNAVAILABLE = "Asking a TA is not set up on this server."


def ta_post(question: str, answer: str, student: int, channel: int | None, role: str | None) -> str:
    """The TA-channel message (within Discord's 2,000 characters): role mention, who asked where, question, answer."""
    head = f"<@&{role}> " if role else ""
    where = f" in <#{channel}>" if channel else ""
    quoted = "\n".join(f"> {line}" for line in question[:600].splitlines() or [""])
    text = f"{head}<@{student}> asked for a TA{where}:\n{quoted}\n**The bot answered:**\n{answer[:900]}\n_Reply to this message (or in its thread) to answer the student, or use the instructor console._"
    return text[:2000]


class AskTAButton(discord.ui.DynamicItem[discord.ui.Button], template=re.escape(CUSTOM_ID) + r"(?::(?P<course>[a-z0-9][a-z0-9-]{0,31}))?"):
    """ "Ask a TA" under an answer; the message it sits on identifies the answer, so it survives restarts of the view.

    In a deployment with several courses its custom id also names the answer's course
    (``course-ta:ask-ta:<course id>``): the press is routed to that course's TA channel even before
    the answer log has written the answer's row.
    """

    def __init__(self, course: str = "") -> None:
        self.course = course
        super().__init__(
            discord.ui.Button(
                label="Ask a TA",
                emoji="\N{HAPPY PERSON RAISING ONE HAND}",
                style=discord.ButtonStyle.secondary,
                custom_id=f"{CUSTOM_ID}:{course}" if course else CUSTOM_ID,
            )
        )

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> AskTAButton:
        """The button of an answer posted earlier."""
        return cls(match["course"] or "")

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the escalation, post it in the TA channel, tell the student."""
        assert isinstance(interaction.client, CourseTAClient)  # registered only by a CourseTAClient's tree
        ta = interaction.client.ta
        channels = TAChannels.of(ta.settings, ta.desk.catalog)
        if not channels.all_discord():
            await reply_error(interaction, UNAVAILABLE)
            return
        message = interaction.message
        turns = ta.conversations.history(message.id) if message is not None else None
        if message is None or not turns:
            await reply_error(interaction, UNKNOWN)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        turn = turns[-1]
        channel_id = str(interaction.channel_id or message.channel.id)
        log = EscalationLog(ta.settings.feedback_db_path)
        escalation, created = await asyncio.to_thread(
            log.open,
            PLATFORM,
            channel_id,
            channel_id,
            str(interaction.user.id),
            turn.question,
            turn.answer,
            answer_id=f"discord:{message.id}",
            message=str(message.id),
            course=self.course or None,  # None: the course the answer log recorded for the message
        )
        ta_channel = channels.discord(escalation.course)
        if created and not ta_channel:  # a course without a TA channel (a button added before the settings changed)
            logger.warning("escalation %s of course %r has no TA channel; it waits in the console", escalation.id, escalation.course)
        elif created and ta_channel:
            role = ta.settings.console_ta_discord_role
            mentions = discord.AllowedMentions(everyone=False, users=False, roles=[discord.Object(int(role))] if role else False)
            try:
                posted = await interaction.client.get_partial_messageable(int(ta_channel)).send(
                    ta_post(turn.question, turn.answer, interaction.user.id, interaction.channel_id, role), allowed_mentions=mentions
                )
                await asyncio.to_thread(log.set_ta_post, escalation.id, ta_channel, str(posted.id))
            except discord.HTTPException as error:  # the console still lists it
                logger.warning("could not post escalation %s to the TA channel: %s", escalation.id, error)
        await interaction.followup.send(ASKED if created else ALREADY, ephemeral=True)


def with_ask_ta(view: discord.ui.View, settings: Settings, course: Course | None = None) -> discord.ui.View:
    """``view`` plus the "Ask a TA" button when the answer's ``course`` or the deployment has a TA channel; unchanged otherwise."""
    if (course is not None and course.ta_discord_channel) or settings.console_ta_discord_channel:
        # The one course of a deployment without a courses file is recorded as '' (like the answer log does).
        view.add_item(AskTAButton(course.id if course is not None and course.id != DEFAULT_COURSE_ID else ""))
    return view


def register(tree: app_commands.CommandTree[CourseTAClient]) -> None:
    """Route "Ask a TA" presses to :class:`AskTAButton` (added to answers by :func:`with_ask_ta`)."""
    tree.client.add_dynamic_items(AskTAButton)
