"""``course-ta discord invite-url [--client-id ID] [--guild ID]``: the link that adds the bot to a server."""

from __future__ import annotations

import argparse
import sys

from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta discord invite-url`` to the CLI."""
    parser = subcommands.add_parser("discord", help="Discord helpers (invite URL)")
    actions = parser.add_subparsers(dest="discord_command", required=True, metavar="ACTION")
    invite = actions.add_parser("invite-url", help="print the OAuth2 URL with exactly the scopes and permissions the bot needs")
    invite.add_argument("--client-id", help="application id (default COURSE_TA_DISCORD_CLIENT_ID)")
    invite.add_argument("--guild", help="preselect this server id in the invite dialog")
    invite.set_defaults(handler=run_invite_url)


def run_invite_url(args: argparse.Namespace) -> int:
    """Print the invite URL (scopes and permissions on stderr); 2 when no client id is known."""
    from bot.discord.invite_url import SCOPES, bot_permissions, invite_url  # discord.py loads only when this command runs

    overrides = {"discord_client_id": args.client_id} if args.client_id is not None else {}
    if args.guild is not None:
        overrides["discord_test_guild_id"] = args.guild  # validated as a snowflake like the setting
    settings = load_settings(deployment=True, **overrides)
    if not settings.discord_client_id:
        print(
            "course-ta discord invite-url: no client id: pass --client-id ID or set COURSE_TA_DISCORD_CLIENT_ID "
            "(Developer Portal → your application → General Information → Application ID)",
            file=sys.stderr,
        )
        return 2
    print(invite_url(settings.discord_client_id, args.guild and settings.discord_test_guild_id))
    permissions = [name for name, value in bot_permissions() if value]
    print(f"scopes: {' '.join(SCOPES)}; permissions: {', '.join(permissions)}", file=sys.stderr)
    return 0
