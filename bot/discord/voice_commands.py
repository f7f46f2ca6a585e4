"""``/join``, ``/leave`` and ``/stop``: the bot in the caller's voice channel."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.discord.context import CourseTAClient
from bot.discord.error_reply import reply_error
from bot.discord.voice_queue import VoiceUnavailable, caller_voice_channel


async def join_command(interaction: discord.Interaction[CourseTAClient]) -> None:
    """Connect to the caller's voice channel, or say why the bot cannot."""
    try:
        channel = caller_voice_channel(interaction.user)
    except VoiceUnavailable as error:
        await reply_error(interaction, str(error))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)  # connecting can take seconds
    try:
        await interaction.client.ta.playback.guild(channel.guild.id).join(channel)
    except VoiceUnavailable as error:
        await interaction.followup.send(str(error), ephemeral=True)
        return
    await interaction.followup.send(
        f"Joined {channel.mention}. Use /ask with speak:True, or the Play button under an answer.", ephemeral=True
    )


async def leave_command(interaction: discord.Interaction[CourseTAClient]) -> None:
    """Leave this server's voice channel, if the bot is in one."""
    assert interaction.guild_id is not None  # the command is guild-only
    left = await interaction.client.ta.playback.guild(interaction.guild_id).leave()
    await interaction.response.send_message("Left the voice channel." if left else "I'm not in a voice channel.", ephemeral=True)


async def stop_command(interaction: discord.Interaction[CourseTAClient]) -> None:
    """Stop the clip playing in this server and drop the queued ones."""
    assert interaction.guild_id is not None  # the command is guild-only
    dropped = await interaction.client.ta.playback.guild(interaction.guild_id).stop()
    await interaction.response.send_message(f"Stopped; {dropped} clip(s) dropped." if dropped else "Nothing is playing.", ephemeral=True)


def register(tree: app_commands.CommandTree[CourseTAClient]) -> None:
    """Add /join, /leave and /stop to the tree, usable in servers only."""
    for name, description, callback in (
        ("join", "Join your voice channel to play answers there", join_command),
        ("leave", "Leave the voice channel", leave_command),
        ("stop", "Stop playing and clear the queue of clips", stop_command),
    ):
        command: app_commands.Command[Any, ..., None] = app_commands.Command(name=name, description=description, callback=callback)
        tree.add_command(app_commands.guild_only(command))
