"""A local server that speaks the part of Discord's REST API the bot uses, and records every call.

discord.py's ``Route.BASE`` is pointed here (its own transport seam, like a base URL), so the real
library builds and sends every request: login, command sync (bulk overwrite, globally or per
guild), interaction callbacks, followup webhooks (multipart with the clip), replies, typing,
voice messages (flag ``1 << 13``, one ``audio/*`` file, ``duration_secs`` and ``waveform`` in the
attachment entry; checked as Discord checks them, answered with the attachment metadata).
Nothing of ours is replaced. ``fail`` makes a route answer with an error as Discord does (403
Missing Access, 429 with ``retry_after``, 403 50173 for a channel without voice messages), to
exercise how our code copes; ``when`` narrows it to some requests (e.g. only voice messages).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

APP_ID = 900000000000000001
BOT_USER_ID = 900000000000000002
_ids = itertools.count(910000000000000000)
_sequence = itertools.count()
GLOBAL_COMMANDS = re.compile(r"^/applications/(?P<app>\d+)/commands$")
GUILD_COMMANDS = re.compile(r"^/applications/(?P<app>\d+)/guilds/(?P<guild>\d+)/commands$")
IS_VOICE_MESSAGE = 1 << 13


def next_sequence() -> int:
    """One counter shared by the server and log records, so tests can assert what happened first."""
    return next(_sequence)


@dataclass
class Part:
    name: str
    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class Call:
    seq: int
    method: str
    path: str
    query: dict[str, str]
    json: Any = None
    parts: list[Part] = field(default_factory=list)
    response: Any = None  # the message object we answered with, when the call created one
    at: float = field(default_factory=time.perf_counter)  # arrival (benchmarks only; tests never read it)

    @property
    def payload(self) -> Any:
        """The JSON body, whether sent plainly or as the ``payload_json`` part of a multipart body."""
        if self.json is not None:
            return self.json
        for part in self.parts:
            if part.name == "payload_json":
                return json.loads(part.data)
        return None

    @property
    def files(self) -> list[Part]:
        return [p for p in self.parts if p.filename]

    @property
    def is_voice_message(self) -> bool:
        payload = self.payload
        return isinstance(payload, dict) and bool(payload.get("flags", 0) & IS_VOICE_MESSAGE)


@dataclass
class Failure:
    """An error answer for every request whose method matches and whose path matches ``path`` (a regex)."""

    method: str
    path: str
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    when: Callable[[Call], bool] | None = None

    def matches(self, call: Call) -> bool:
        return call.method == self.method and re.search(self.path, call.path) is not None and (self.when is None or self.when(call))


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    """discord.py parses a body as JSON only when Content-Type is exactly ``application/json``."""
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json", **(headers or {})})


def bot_user() -> dict[str, Any]:
    return {"id": str(BOT_USER_ID), "username": "course-ta", "discriminator": "0", "global_name": "Course TA", "avatar": None, "bot": True}


def message_object(message_id: str, channel_id: str, author: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A Discord message object with every field discord.py reads; ``fields`` add to or override the defaults (content, type, flags…)."""
    return {
        "id": message_id,
        "channel_id": channel_id,
        "type": 0,
        "content": "",
        "author": author,
        "embeds": [],
        "attachments": [],
        "components": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": False,
        "pinned": False,
        "tts": False,
        "timestamp": "2026-01-01T00:00:00+00:00",
        "edited_timestamp": None,
        "flags": 0,
        **fields,
    }


class DiscordAPI:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.failures: list[Failure] = []
        # Registered application commands as Discord holds them: None = global, else per guild id.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.changed = asyncio.Condition()
        self.runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/api/v10/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base = f"http://127.0.0.1:{port}/api/v10"
        return self.base

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]
        call = Call(next_sequence(), request.method, path, dict(request.query))
        if request.content_type == "application/json":
            call.json = await request.json()
        elif request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            async for part in reader:
                call.parts.append(Part(part.name or "", part.filename, part.headers.get("Content-Type"), await part.read()))  # type: ignore[union-attr]
        async with self.changed:
            self.calls.append(call)
            self.changed.notify_all()
        return self.respond(call)

    def fail(
        self, method: str, path: str, status: int, code: int, message: str, when: Callable[[Call], bool] | None = None, **extra: Any
    ) -> None:
        """From now on answer ``method`` on paths matching ``path`` with Discord's error body.

        A 429 carries ``retry_after`` (seconds, from ``extra``) and the ``Via`` header Discord's edge
        sets: discord.py treats a 429 without it as a Cloudflare ban and does not retry."""
        headers = {"Via": "1.1 google"} if status == 429 else {}
        self.failures.append(Failure(method, path, status, {"message": message, "code": code, **extra}, headers, when))

    def respond(self, call: Call) -> web.Response:
        method, path = call.method, call.path
        failure = next((f for f in self.failures if f.matches(call)), None)
        if failure is not None:
            return json_response(failure.body, status=failure.status, headers=failure.headers)
        if method == "GET" and path == "/users/@me":
            return json_response(bot_user())
        if method == "GET" and path == "/oauth2/applications/@me":
            return json_response(
                {
                    "id": str(APP_ID),
                    "name": "course-ta",
                    "description": "",
                    "icon": None,
                    "bot_public": False,
                    "bot_require_code_grant": False,
                    "owner": {**bot_user(), "id": "900000000000000009", "bot": False},
                    "verify_key": "00",
                    "flags": 0,
                }
            )
        scope = GLOBAL_COMMANDS.match(path) or GUILD_COMMANDS.match(path)
        if method == "PUT" and scope is not None and scope["app"] == str(APP_ID):
            return json_response(self.overwrite_commands(int(scope["guild"]) if "guild" in scope.groupdict() else None, call.json or []))
        if method == "POST" and path.endswith("/callback"):
            interaction_id = path.split("/")[2]
            body = call.payload or {}
            return json_response(
                {
                    "interaction": {
                        "id": interaction_id,
                        "type": 2,
                        "response_message_loading": body.get("type") == 5,
                        "response_message_ephemeral": bool((body.get("data") or {}).get("flags", 0) & 64),
                    },
                }
            )
        if method == "POST" and path.endswith("/typing"):
            return web.Response(status=204)
        if method in ("POST", "PATCH") and path.startswith(("/webhooks/", "/channels/")):
            problem = voice_message_problem(call) if call.is_voice_message else None
            if problem is not None:
                return json_response({"message": problem[1], "code": problem[0]}, status=400)
            call.response = self.message_for(call)
            return json_response(call.response)
        return json_response({"message": f"not served by the test server: {method} {path}", "code": 0}, status=404)

    def overwrite_commands(self, guild_id: int | None, commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Bulk overwrite: the scope's commands become exactly ``commands``, each given an id."""
        registered = [
            {
                **command,
                "id": str(next(_ids)),
                "application_id": str(APP_ID),
                "version": "1",
                "default_member_permissions": command.get("default_member_permissions"),
                **({"guild_id": str(guild_id)} if guild_id is not None else {}),
            }
            for command in commands
        ]
        self.commands[guild_id] = registered
        return registered

    def message_for(self, call: Call) -> dict[str, Any]:
        body = call.payload or {}
        channel_id = call.path.split("/")[2] if call.path.startswith("/channels/") else "920000000000000001"
        return message_object(
            str(next(_ids)),
            channel_id,
            bot_user(),
            content=body.get("content", ""),
            embeds=body.get("embeds", []),
            flags=body.get("flags", 0),
            attachments=[attachment_object(call, entry) for entry in body.get("attachments", [])],
            webhook_id=str(APP_ID) if call.path.startswith("/webhooks/") else None,
        )

    async def wait_for(self, predicate: Callable[[list[Call]], bool], timeout: float = 60.0) -> list[Call]:
        """Wait until ``predicate(calls)`` is true; returns the calls so far."""

        async def condition() -> list[Call]:
            async with self.changed:
                await self.changed.wait_for(lambda: predicate(self.calls))
                return list(self.calls)

        return await asyncio.wait_for(condition(), timeout)

    def find(self, method: str, fragment: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and fragment in c.path]


def attachment_object(call: Call, entry: dict[str, Any]) -> dict[str, Any]:
    """The attachment as Discord returns it; voice-message metadata only for an ``audio/*`` file (as Discord does)."""
    index = int(entry.get("id", 0))
    part = next((p for p in call.parts if p.name == f"files[{index}]"), None)
    content_type = part.content_type if part is not None else None
    attachment: dict[str, Any] = {
        "id": str(next(_ids)),
        "filename": entry.get("filename") or (part.filename if part else "file"),
        "size": len(part.data) if part else 0,
        "url": "https://cdn.example.invalid/attachment",
        "proxy_url": "https://cdn.example.invalid/attachment",
        "content_type": content_type,
    }
    if call.is_voice_message and content_type and content_type.startswith("audio/"):
        attachment["duration_secs"] = entry.get("duration_secs")
        attachment["waveform"] = entry.get("waveform")
    return attachment


def voice_message_problem(call: Call) -> tuple[int, str] | None:
    """Discord's rules for a voice message: no content, one audio file, duration and waveform declared."""
    body = call.payload or {}
    if body.get("content") or body.get("embeds") or body.get("sticker_ids"):
        return 50159, "Voice messages do not support additional content."
    entries = body.get("attachments") or []
    if len(call.files) != 1 or len(entries) != 1:
        return 50160, "Voice messages must have a single audio attachment."
    if "duration_secs" not in entries[0] or "waveform" not in entries[0]:
        return 50161, "Voice messages must have supporting metadata."
    return None
