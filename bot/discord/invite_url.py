"""The OAuth2 URL that adds the bot to a server with exactly what it uses, nothing more.

Scopes: ``bot`` (gateway presence, voice) and ``applications.commands`` (slash commands).
Permissions: read and post in channels and threads (View Channel, Send Messages, Send Messages in
Threads, Read Message History for replies), Embed Links (answer embeds), Attach Files (the clip),
Send Voice Messages (the clip as a voice message), Connect and Speak (voice playback). No administrator, no moderation, no mentions of everyone.
"""

from __future__ import annotations

import discord

SCOPES = ("bot", "applications.commands")


def bot_permissions() -> discord.Permissions:
    """Exactly the permissions the features use (listed in the module docstring)."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        read_message_history=True,
        embed_links=True,
        attach_files=True,
        send_voice_messages=True,
        connect=True,
        speak=True,
    )


def invite_url(client_id: str, guild_id: str | None = None) -> str:
    """``client_id`` is the application id (Developer Portal → General Information)."""
    if not client_id.isdigit():
        raise ValueError(f"the client id must be the numeric application id (got {client_id!r})")
    guild = discord.Object(id=int(guild_id)) if guild_id else discord.utils.MISSING
    return discord.utils.oauth_url(int(client_id), permissions=bot_permissions(), scopes=SCOPES, guild=guild, disable_guild_select=False)
