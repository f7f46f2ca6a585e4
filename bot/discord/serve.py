"""``course-ta serve discord``: check the token, load models, sync commands, connect."""

from __future__ import annotations

import logging
import sys

import aiohttp
import discord

from bot.discord.app import build_bot
from pipelines.settings import Settings, SettingsError


def serve_discord(settings: Settings) -> None:
    """Runs until interrupted. A missing or rejected token is one clear line, never the token."""
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise SettingsError("DISCORD_TOKEN is not set: copy the bot token from the Developer Portal (Bot → Reset Token)")
    bot = build_bot(settings)
    where = f"test guild {settings.discord_test_guild_id}" if settings.discord_test_guild_id else "all servers (global sync)"
    print(
        f"course-ta: Discord bot starting; commands sync to {where}; answering from {settings.describe_store()}",
        file=sys.stderr,
        flush=True,
    )
    try:
        # log_handler=None: our CLI already configured logging; discord.py never logs the token.
        bot.run(settings.discord_token.get_secret_value().strip(), log_handler=None, log_level=logging.INFO)
    except discord.LoginFailure:
        raise SettingsError("DISCORD_TOKEN was rejected by Discord (reset it in the Developer Portal and update the variable)") from None
    except aiohttp.ClientConnectionError as error:
        print(f"course-ta: cannot reach Discord: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except discord.PrivilegedIntentsRequired:
        raise SettingsError(
            "Discord refused the Message Content intent: enable it (Developer Portal → Bot → Privileged Gateway Intents) "
            "or set COURSE_TA_DISCORD_FOLLOW_UPS=false"
        ) from None
