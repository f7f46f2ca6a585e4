"""The Discord client: command tree with guards and error replies, command sync, follow-ups.

``build_bot(settings)`` is what ``course-ta serve discord`` runs; tests build the same object and
drive it with raw gateway payloads, with discord.py's REST base pointed at a local server. The
command modules know nothing of this one: they are imported here and registered on the tree.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.answering.course_desk import CourseDesk
from bot.answering.service import AnswerService
from bot.discord import ask, escalation, summary_command, ta_replies, voice_commands
from bot.discord.context import CourseTA, CourseTAClient
from bot.discord.error_reply import reply_error
from bot.discord.guards import GuardRejected
from bot.discord.question_channels import needs_message_content, on_channel_message
from pipelines.settings import Settings
from voice.render import VoiceRenderer

logger = logging.getLogger(__name__)

FAILURE_MESSAGE = "Something went wrong while handling that command. Please try again; if it keeps failing, tell the course staff."
COMMAND_MODULES = (ask, summary_command, voice_commands, escalation)


def bot_intents(read_messages: bool) -> discord.Intents:
    """Only what the features use: guilds (channels, permissions), voice states (who sits where) and, when the bot
    reads plain messages (follow-ups, question channels, TA replies), guild messages and the privileged message content."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.voice_states = True
    intents.guild_messages = read_messages
    intents.message_content = read_messages
    return intents


MESSAGE_CONTENT_REFUSED = (
    "Discord refused the Message Content intent, so the bot runs without reading plain messages: no follow-ups, "
    "no answers without /ask in question channels, no TA replies from the TA channel (/ask and the buttons work). "
    "Enable it in the Developer Portal (Bot → Privileged Gateway Intents → Message Content Intent) and restart."
)


class CourseTATree(app_commands.CommandTree[CourseTAClient]):
    """The command tree: guards run before every command, and every failure gets a reply."""

    async def interaction_check(self, interaction: discord.Interaction[CourseTAClient]) -> bool:
        """Refuse (with the reason as an ephemeral reply) interactions from bots or places not served."""
        self.client.ta.guards.check_interaction(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction[CourseTAClient], error: app_commands.AppCommandError) -> None:
        """Guard refusals say why; stale commands say to retry; anything else is logged and apologised for."""
        if isinstance(error, GuardRejected):
            message = str(error)
        elif isinstance(error, app_commands.CommandNotFound):
            message = "That command is out of date; Discord will refresh it shortly. Please try again in a minute."
        else:
            original = getattr(error, "original", error)
            logger.error("command %s failed", interaction.command.name if interaction.command else "?", exc_info=original)
            message = FAILURE_MESSAGE
        await reply_error(interaction, message)


def sync_failure_message(error: discord.HTTPException | discord.RateLimited, guild_id: str | None) -> str:
    """One log line: where registration failed, Discord's words, what to do, and that the bot runs on."""
    where = f"in guild {guild_id}" if guild_id else "globally"
    if isinstance(error, discord.RateLimited) or error.status == 429:
        hint = "Discord is rate-limiting command registration; restart the bot later to register them"
    elif isinstance(error, discord.Forbidden) and guild_id:
        hint = (
            f"is the bot in guild {guild_id} (COURSE_TA_DISCORD_TEST_GUILD_ID), invited with the applications.commands scope? "
            f"`course-ta discord invite-url --guild {guild_id}` prints the invite link"
        )
    elif isinstance(error, discord.Forbidden):
        hint = "was the bot invited with the applications.commands scope? `course-ta discord invite-url` prints the invite link"
    else:
        hint = ""
    advice = f"; {hint}" if hint else ""
    return f"could not register the slash commands {where}: {error}{advice}. The bot keeps running with the commands Discord already has."


class CourseTABot(CourseTAClient):
    """discord.Client with the course-ta commands; ``sync`` decides whether commands are registered at start."""

    def __init__(self, ta: CourseTA, *, sync: bool = True) -> None:
        super().__init__(
            ta, intents=bot_intents(needs_message_content(ta.settings, ta.desk.catalog)), allowed_mentions=discord.AllowedMentions.none()
        )
        self.sync_on_start = sync
        self.tree = CourseTATree(self)
        for module in COMMAND_MODULES:
            module.register(self.tree)

    async def setup_hook(self) -> None:
        """Load the models, then register the commands; a failed registration is one log line, not a crash."""
        await self.ta.in_thread(self.ta.warm_up)
        if not self.sync_on_start:
            return
        try:
            await self.sync_commands()
        except (discord.HTTPException, discord.RateLimited) as error:
            logger.error("%s", sync_failure_message(error, self.ta.settings.discord_test_guild_id))

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """To the test guild when configured (instant), else globally (Discord may take an hour)."""
        guild_id = self.ta.settings.discord_test_guild_id
        if guild_id:
            guild = discord.Object(id=int(guild_id))
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            logger.info("synced %d command(s) to guild %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            logger.info("synced %d command(s) globally (may take up to an hour to appear)", len(synced))
        return synced

    async def connect(self, *, reconnect: bool = True) -> None:
        """Connect to the gateway; when Discord refuses the Message Content intent, say so in one line and connect without it."""
        try:
            await super().connect(reconnect=reconnect)
        except discord.PrivilegedIntentsRequired:
            if not self._connection._intents.message_content or self.is_closed():
                raise
            logger.error("%s", MESSAGE_CONTENT_REFUSED)
            self._connection._intents.message_content = False
            await super().connect(reconnect=reconnect)

    async def on_message(self, message: discord.Message) -> None:
        """A TA's reply to an escalation is relayed; a question in a question channel is answered; replies to our
        answers are follow-up questions. A reply that cannot be delivered is logged."""
        try:
            if await ta_replies.on_ta_message(self.ta, message, self.http):
                return
            if await on_channel_message(self.ta, message):
                return
            await ask.on_follow_up(self.ta, message)
        except discord.HTTPException as error:
            logger.warning("could not answer a follow-up: %s", error)

    async def close(self) -> None:
        """Stop playback and the worker pools, then disconnect."""
        await self.ta.close()
        await super().close()


def build_bot(
    settings: Settings,
    *,
    service: AnswerService | None = None,
    renderer: VoiceRenderer | None = None,
    voice_client_class: type[discord.VoiceClient] = discord.VoiceClient,
    sync: bool = True,
    desk: CourseDesk | None = None,
) -> CourseTABot:
    """The bot as ``course-ta serve discord`` runs it; every argument past ``settings`` is for reuse."""
    return CourseTABot(CourseTA(settings, service, renderer, voice_client_class, desk), sync=sync)
