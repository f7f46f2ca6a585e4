"""``/join``, ``/leave`` and ``/stop``: the bot in the caller's voice channel."""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands

from bot.discord.app import reply_error
from bot.discord.voice_queue import VoiceUnavailable, caller_voice_channel

if TYPE_CHECKING:
    from bot.discord.app import CourseTABot


async def join_command(interaction: discord.Interaction) -> None:
    bot: CourseTABot = interaction.client  # type: ignore[assignment]
    try:
        channel = caller_voice_channel(interaction.user)
    except VoiceUnavailable as error:
        await reply_error(interaction, str(error))
        return
    await interaction.response.defer(ephemeral=True, thinking=True)  # connecting can take seconds
    try:
        await bot.ta.playback.guild(channel.guild.id).join(channel)
    except VoiceUnavailable as error:
        await interaction.followup.send(str(error), ephemeral=True)
        return
    await interaction.followup.send(
        f"Joined {channel.mention}. Use /ask with speak:True, or the Play button under an answer.", ephemeral=True
    )


async def leave_command(interaction: discord.Interaction) -> None:
    bot: CourseTABot = interaction.client  # type: ignore[assignment]
    assert interaction.guild_id is not None
    left = await bot.ta.playback.guild(interaction.guild_id).leave()
    await interaction.response.send_message("Left the voice channel." if left else "I'm not in a voice channel.", ephemeral=True)


async def stop_command(interaction: discord.Interaction) -> None:
    bot: CourseTABot = interaction.client  # type: ignore[assignment]
    assert interaction.guild_id is not None
    dropped = await bot.ta.playback.guild(interaction.guild_id).stop()
    await interaction.response.send_message(f"Stopped; {dropped} clip(s) dropped." if dropped else "Nothing is playing.", ephemeral=True)


def setup(bot: CourseTABot) -> None:
    for name, description, callback in (
        ("join", "Join your voice channel to play answers there", join_command),
        ("leave", "Leave the voice channel", leave_command),
        ("stop", "Stop playing and clear the queue of clips", stop_command),
    ):
        command = app_commands.Command(name=name, description=description, callback=callback)
        bot.tree.add_command(app_commands.guild_only(command))
