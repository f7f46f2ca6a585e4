"""Error replies that reach the user whichever state the interaction is in, so nobody sees silence."""

from __future__ import annotations

import logging

import discord

from bot.discord.embeds import error_embed

logger = logging.getLogger(__name__)


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
