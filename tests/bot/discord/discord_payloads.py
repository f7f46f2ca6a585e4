"""Raw gateway payloads (GUILD_CREATE, INTERACTION_CREATE, MESSAGE_CREATE) as Discord sends them.

They go through discord.py's own parser (``ConnectionState.parse_*``), exactly where the gateway
would hand them over, so guild caches, members, voice states and the command tree are all real.
"""

from __future__ import annotations

import itertools
from typing import Any

from tests.fakes.discord_rest import APP_ID, BOT_USER_ID, message_object

GUILD_ID = 930000000000000001
OTHER_GUILD_ID = 930000000000000999
TEXT_CHANNEL_ID = 931000000000000001
VOICE_CHANNEL_ID = 931000000000000002
MUTED_VOICE_CHANNEL_ID = 931000000000000003  # the bot may not speak here
STUDENT_ID = 932000000000000001
LURKER_ID = 932000000000000002  # in no voice channel
MUTED_ROOM_STUDENT_ID = 932000000000000003
_interaction_ids = itertools.count(940000000000000000)

VIEW_SEND_EMBED_ATTACH = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 38)
CONNECT, SPEAK = 1 << 20, 1 << 21


def user(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {"id": str(user_id), "username": name, "discriminator": "0", "global_name": name, "avatar": None, "bot": bot}


def member(user_id: int, name: str, bot: bool = False) -> dict[str, Any]:
    return {
        "user": user(user_id, name, bot),
        "roles": [],
        "joined_at": "2026-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": str(VIEW_SEND_EMBED_ATTACH),
    }


def voice_state(user_id: int, channel_id: int, session_id: str) -> dict[str, Any]:
    """A member sitting in a voice channel, neither muted nor deafened."""
    return {
        "user_id": str(user_id),
        "channel_id": str(channel_id),
        "session_id": session_id,
        "deaf": False,
        "mute": False,
        "self_deaf": False,
        "self_mute": False,
        "self_video": False,
        "suppress": False,
        "request_to_speak_timestamp": None,
    }


def guild_create(guild_id: int = GUILD_ID) -> dict[str, Any]:
    everyone = VIEW_SEND_EMBED_ATTACH | CONNECT | SPEAK
    channel = {"guild_id": str(guild_id), "position": 0, "permission_overwrites": [], "nsfw": False, "parent_id": None}
    return {
        "id": str(guild_id),
        "name": "Course",
        "icon": None,
        "owner_id": "900000000000000009",
        "unavailable": False,
        "roles": [
            {
                "id": str(guild_id),
                "name": "@everyone",
                "permissions": str(everyone),
                "position": 0,
                "color": 0,
                "hoist": False,
                "managed": False,
                "mentionable": False,
                "flags": 0,
            }
        ],
        "channels": [
            {**channel, "id": str(TEXT_CHANNEL_ID), "type": 0, "name": "help"},
            {**channel, "id": str(VOICE_CHANNEL_ID), "type": 2, "name": "study-room", "bitrate": 64000, "user_limit": 0},
            {
                **channel,
                "id": str(MUTED_VOICE_CHANNEL_ID),
                "type": 2,
                "name": "quiet-room",
                "bitrate": 64000,
                "user_limit": 0,
                "permission_overwrites": [{"id": str(BOT_USER_ID), "type": 1, "allow": "0", "deny": str(SPEAK)}],
            },
        ],
        "members": [
            member(BOT_USER_ID, "course-ta", bot=True),
            member(STUDENT_ID, "ada"),
            member(LURKER_ID, "lin"),
            member(MUTED_ROOM_STUDENT_ID, "max"),
        ],
        "voice_states": [voice_state(STUDENT_ID, VOICE_CHANNEL_ID, "s1"), voice_state(MUTED_ROOM_STUDENT_ID, MUTED_VOICE_CHANNEL_ID, "s2")],
        "member_count": 4,
        "large": False,
        "features": [],
        "emojis": [],
        "stickers": [],
        "threads": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "premium_tier": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "afk_timeout": 300,
        "system_channel_flags": 0,
    }


def option(name: str, value: Any, focused: bool = False) -> dict[str, Any]:
    kind = 5 if isinstance(value, bool) else 3
    data: dict[str, Any] = {"type": kind, "name": name, "value": value}
    if focused:
        data["focused"] = True
    return data


def command_interaction(
    name: str,
    options: list[dict[str, Any]] | None = None,
    *,
    user_id: int = STUDENT_ID,
    guild_id: int | None = GUILD_ID,
    channel_id: int = TEXT_CHANNEL_ID,
    channel_type: int = 0,
    parent_id: int | None = None,
    autocomplete: bool = False,
    bot: bool = False,
) -> dict[str, Any]:
    """An INTERACTION_CREATE for a chat-input command (type 2) or its autocomplete (type 4)."""
    interaction_id = next(_interaction_ids)
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(APP_ID),
        "type": 4 if autocomplete else 2,
        "token": f"token-{interaction_id}",
        "version": 1,
        "locale": "en-US",
        "attachment_size_limit": 10 * 1024 * 1024,
        "app_permissions": str(VIEW_SEND_EMBED_ATTACH | CONNECT | SPEAK),
        "entitlements": [],
        "authorizing_integration_owners": {"0": str(guild_id)} if guild_id else {"1": str(user_id)},
        "context": 0 if guild_id else 1,
        "channel_id": str(channel_id),
        "channel": {
            "id": str(channel_id),
            "type": channel_type,
            "name": "help",
            "guild_id": str(guild_id) if guild_id else None,
            "parent_id": str(parent_id) if parent_id else None,
            "permission_overwrites": [],
            "position": 0,
            "nsfw": False,
        },
        "data": {"id": str(abs(hash(name)) % (10**17) + 10**17), "name": name, "type": 1, "options": options or []},
    }
    if guild_id:
        payload["guild_id"] = str(guild_id)
        payload["guild_locale"] = "en-US"
        payload["member"] = member(user_id, "ada", bot=bot)
    else:
        payload["user"] = user(user_id, "ada", bot=bot)
        payload["channel"] = {"id": str(channel_id), "type": 1, "recipients": [user(user_id, "ada")]}
    return payload


def button_interaction(custom_id: str, message_id: int, components: list[dict[str, Any]], *, user_id: int = STUDENT_ID) -> dict[str, Any]:
    """A button press (type 3) on our message, whose ``components`` are those we sent with it."""
    interaction_id = next(_interaction_ids)
    base = command_interaction("unused", user_id=user_id)
    base.update(
        {
            "id": str(interaction_id),
            "token": f"token-{interaction_id}",
            "type": 3,
            "data": {"custom_id": custom_id, "component_type": 2},
            "message": message_object(str(message_id), str(TEXT_CHANNEL_ID), user(BOT_USER_ID, "course-ta", True), components=components),
        }
    )
    return base


def reply_message(
    content: str, replying_to: int, *, author_id: int = STUDENT_ID, bot: bool = False, channel_id: int = TEXT_CHANNEL_ID
) -> dict[str, Any]:
    """A MESSAGE_CREATE for a user's reply to one of the bot's messages."""
    return message_object(
        str(next(_interaction_ids)),
        str(channel_id),
        user(author_id, "ada", bot),
        guild_id=str(GUILD_ID),
        type=19,
        content=content,
        member={k: v for k, v in member(author_id, "ada", bot).items() if k != "user"},
        message_reference={"type": 0, "message_id": str(replying_to), "channel_id": str(channel_id), "guild_id": str(GUILD_ID)},
    )
