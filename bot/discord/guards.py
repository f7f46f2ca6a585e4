"""Who may use the bot where: allowed guilds and channels, bots ignored, per-user cooldown.

Built on the platform-neutral guards of ``bot/answering/guards.py`` (channel allow-list, sliding-window rate
limit) plus Discord's extra level, the guild allow-list. Place checks run once per interaction in
the command tree's ``interaction_check``, before any work; the cooldown is charged inside /ask and
/summary after the question is validated, so a rejected empty question costs nothing. A rejection
carries the sentence the user sees, sent ephemerally, so nobody gets "The application did not respond".
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.answering.guards import ChannelAllowList, RateLimiter
from pipelines.settings import Settings


class GuardRejected(app_commands.CheckFailure):
    """The interaction is not allowed; ``str(error)`` is the user-facing reason."""


class DiscordGuards:
    """The guild and channel allow-lists and the per-user cooldown, from the settings."""

    def __init__(self, settings: Settings) -> None:
        self.guild_ids = settings.discord_allowed_guild_ids
        # Direct messages have no guild: allowed only when no guild allow-list narrows the bot down.
        self.channels = ChannelAllowList((str(c) for c in settings.discord_allowed_channel_ids), allow_direct=not self.guild_ids)
        seconds = settings.discord_cooldown_seconds
        self.limiter = RateLimiter(1, seconds) if seconds > 0 else None

    def place_problem(self, guild_id: int | None, channel: object, channel_id: int | None) -> str | None:
        """Why this guild/channel is not served, or ``None`` when it is (threads count as their parent)."""
        if self.guild_ids and guild_id not in self.guild_ids:
            return "I'm not enabled in this server. Ask the course staff where to find me."
        direct = guild_id is None
        parent_id = getattr(channel, "parent_id", None)
        decision = self.channels.check(str(channel_id), direct, mention=lambda c: f"<#{c}>")
        if not decision.allowed and parent_id is not None and not direct:
            decision = self.channels.check(str(parent_id), direct, mention=lambda c: f"<#{c}>")
        return None if decision.allowed else decision.reason

    def check_interaction(self, interaction: discord.Interaction) -> None:
        """Raise :class:`GuardRejected` when the interaction must not run here."""
        if interaction.user.bot:
            raise GuardRejected("Bots can't use this command.")
        problem = self.place_problem(interaction.guild_id, interaction.channel, interaction.channel_id)
        if problem:
            raise GuardRejected(problem)

    def charge(self, user_id: int) -> None:
        """Count a question against the cooldown, or raise :class:`GuardRejected` with the wait."""
        if self.limiter is None:
            return
        decision = self.limiter.check(f"discord:{user_id}")
        if not decision.allowed:
            raise GuardRejected(decision.message())

    def message_allowed(self, message: discord.Message) -> bool:
        """Follow-up messages from bots, webhooks or places we don't serve are ignored silently."""
        if message.author.bot or message.webhook_id is not None:
            return False
        guild_id = message.guild.id if message.guild else None
        return self.place_problem(guild_id, message.channel, message.channel.id) is None
