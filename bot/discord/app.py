"""The Discord client: command tree with guards and error replies, command sync, follow-ups.

``build_bot(settings)`` is what ``course-ta serve discord`` runs; tests build the same object and
drive it with raw gateway payloads, with discord.py's REST base pointed at a local server.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.discord.context import CourseTA
from bot.discord.embeds import error_embed
from bot.discord.guards import GuardRejected

logger = logging.getLogger(__name__)

FAILURE_MESSAGE = "Something went wrong while handling that command. Please try again; if it keeps failing, tell the course staff."


def bot_intents(follow_ups: bool) -> discord.Intents:
    """Only what the features use: guilds (channels, permissions), voice states (who sits where),
    guild messages (replies to answers) and, for follow-ups, the privileged message content."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.voice_states = True
    intents.guild_messages = follow_ups
    intents.message_content = follow_ups
    return intents


class CourseTATree(app_commands.CommandTree["CourseTABot"]):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        self.client.ta.guards.check_interaction(interaction)
        return True

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        if isinstance(error, GuardRejected):
            message = str(error)
        elif isinstance(error, app_commands.CommandNotFound):
            message = "That command is out of date; Discord will refresh it shortly. Please try again in a minute."
        else:
            original = getattr(error, "original", error)
            logger.error("command %s failed", interaction.command.name if interaction.command else "?", exc_info=original)
            message = FAILURE_MESSAGE
        await reply_error(interaction, message)


async def reply_error(interaction: discord.Interaction, message: str) -> None:
    """An ephemeral error, whether or not the interaction was already acknowledged."""
    try:
        if interaction.type is discord.InteractionType.autocomplete:
            if not interaction.response.is_done():
                await interaction.response.autocomplete([])
            return
        if interaction.response.is_done():
            await interaction.followup.send(embed=error_embed(message), ephemeral=True)
        else:
            await interaction.response.send_message(embed=error_embed(message), ephemeral=True)
    except discord.HTTPException as error:  # the interaction expired or Discord is down: nothing left to tell
        logger.warning("could not deliver an error reply: %s", error)


class CourseTABot(discord.Client):
    """discord.Client with the course-ta commands; ``sync`` decides where commands are registered."""

    def __init__(self, ta: CourseTA, *, sync: bool = True) -> None:
        super().__init__(
            intents=bot_intents(ta.settings.discord_follow_ups),
            allowed_mentions=discord.AllowedMentions.none(),
        )
        self.ta = ta
        self.sync_on_start = sync
        self.tree = CourseTATree(self)
        from bot.discord import ask, summary_command, voice_commands

        ask.setup(self)
        summary_command.setup(self)
        voice_commands.setup(self)

    async def setup_hook(self) -> None:
        await self.ta.in_thread(self.ta.warm_up)
        if self.sync_on_start:
            await self.sync_commands()

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

    async def on_message(self, message: discord.Message) -> None:
        from bot.discord.ask import on_follow_up

        try:
            await on_follow_up(self, message)
        except discord.HTTPException as error:
            logger.warning("could not answer a follow-up: %s", error)

    async def close(self) -> None:
        await self.ta.close()
        await super().close()


def build_bot(
    settings, *, service=None, renderer=None, voice_client_class: type[discord.VoiceClient] = discord.VoiceClient, sync: bool = True
) -> CourseTABot:  # type: ignore[no-untyped-def]
    """The bot as ``course-ta serve discord`` runs it; every argument past ``settings`` is for reuse."""
    return CourseTABot(CourseTA(settings, service, renderer, voice_client_class), sync=sync)
