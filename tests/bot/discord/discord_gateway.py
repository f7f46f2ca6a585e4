"""A local Discord gateway (websocket) that records each IDENTIFY and can refuse privileged intents as Discord does.

discord.py connects to ``DiscordWebSocket.DEFAULT_GATEWAY``; pointing it here lets the real client
say HELLO, IDENTIFY with its intents and receive READY, or be closed with 4014 ("Disallowed
intent(s)") when it asks for the Message Content intent and the application may not have it.
Frames are sent as text, which discord.py reads without decompressing.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.discord_rest import APP_ID, bot_user

MESSAGE_CONTENT = 1 << 15
DISALLOWED_INTENTS = 4014


class DiscordGateway:
    def __init__(self, *, refuse_message_content: bool = False) -> None:
        self.refuse_message_content = refuse_message_content
        self.identified: list[int] = []  # the intents of every IDENTIFY, in order
        self.changed = asyncio.Condition()
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://127.0.0.1:{port}/"
        return self.url

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45000}, "s": None, "t": None}))
        async for frame in ws:
            if frame.type is not WSMsgType.TEXT:
                break
            data: dict[str, Any] = json.loads(frame.data)
            if data.get("op") == 1:
                await ws.send_str(json.dumps({"op": 11, "d": None, "s": None, "t": None}))
            elif data.get("op") == 2:
                intents = int(data["d"]["intents"])
                async with self.changed:
                    self.identified.append(intents)
                    self.changed.notify_all()
                if self.refuse_message_content and intents & MESSAGE_CONTENT:
                    await ws.close(code=DISALLOWED_INTENTS, message=b"Disallowed intent(s).")
                    break
                ready = {
                    "v": 10,
                    "user": bot_user(),
                    "guilds": [],
                    "session_id": "session-1",
                    "resume_gateway_url": self.url,
                    "application": {"id": str(APP_ID), "flags": 0},
                }
                await ws.send_str(json.dumps({"op": 0, "t": "READY", "s": 1, "d": ready}))
        return ws

    async def wait_for_identify(self, count: int, timeout: float = 30.0) -> list[int]:
        async def identified() -> list[int]:
            async with self.changed:
                await self.changed.wait_for(lambda: len(self.identified) >= count)
                return list(self.identified)

        return await asyncio.wait_for(identified(), timeout)
