"""Discord's side of the human TA: an "Ask a TA" button under /ask answers and the post in the TA channel.

With ``COURSE_TA_CONSOLE_TA_DISCORD_CHANNEL`` unset the button is never added. When set, pressing it
records an escalation in the answer log (question, the bot's answer, the student's channel and
message), posts it in the TA channel mentioning ``COURSE_TA_CONSOLE_TA_DISCORD_ROLE`` (only that role
is pinged), and tells the student ephemerally. The TA answers from the instructor console, which posts
the reply in the student's channel as a reply to the answer (``bot/console/relay.py``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import discord
from discord import app_commands

from bot.answering.escalations import EscalationLog
from bot.discord.context import CourseTAClient
from bot.discord.error_reply import reply_error
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
    text = f"{head}<@{student}> asked for a TA{where}:\n{quoted}\n**The bot answered:**\n{answer[:900]}\n_Answer it from the instructor console._"
    return text[:2000]


class AskTAButton(discord.ui.DynamicItem[discord.ui.Button], template=re.escape(CUSTOM_ID)):
    """ "Ask a TA" under an answer; the message it sits on identifies the answer, so it survives restarts of the view."""

    def __init__(self) -> None:
        super().__init__(
            discord.ui.Button(
                label="Ask a TA", emoji="\N{HAPPY PERSON RAISING ONE HAND}", style=discord.ButtonStyle.secondary, custom_id=CUSTOM_ID
            )
        )

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]) -> AskTAButton:
        """The button of an answer posted earlier."""
        return cls()

    async def callback(self, interaction: discord.Interaction) -> None:
        """Record the escalation, post it in the TA channel, tell the student."""
        assert isinstance(interaction.client, CourseTAClient)  # registered only by a CourseTAClient's tree
        ta = interaction.client.ta
        ta_channel = ta.settings.console_ta_discord_channel
        if not ta_channel:
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
        )
        if created:
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


def with_ask_ta(view: discord.ui.View, settings: Settings) -> discord.ui.View:
    """``view`` plus the "Ask a TA" button when a TA channel is configured; unchanged otherwise."""
    if settings.console_ta_discord_channel:
        view.add_item(AskTAButton())
    return view


def register(tree: app_commands.CommandTree[CourseTAClient]) -> None:
    """Route "Ask a TA" presses to :class:`AskTAButton` (added to answers by :func:`with_ask_ta`)."""
    tree.client.add_dynamic_items(AskTAButton)
