"""The running bot and the local Discord API, as one object a test drives."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.discord.app import CourseTABot
from tests.fakes.discord_rest import DiscordAPI, next_sequence


class EventLog(logging.Handler):
    """Debug records of the bot, numbered on the same counter as the server's calls."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[tuple[int, str]] = []
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append((next_sequence(), record.getMessage()))
        self.records.append(record)

    def at(self, level: int) -> list[str]:
        """Messages logged at exactly ``level``."""
        return [r.getMessage() for r in self.records if r.levelno == level]

    def first(self, fragment: str) -> int:
        return next(seq for seq, message in self.events if fragment in message)


class Scenario:
    def __init__(self, api: DiscordAPI, bot: CourseTABot, log: EventLog) -> None:
        self.api, self.bot, self.log = api, bot, log

    def interact(self, payload: dict[str, Any]) -> None:
        """Hand an INTERACTION_CREATE to discord.py as the gateway would."""
        self.bot._connection.parse_interaction_create(payload)  # type: ignore[arg-type]

    def message(self, payload: dict[str, Any]) -> None:
        self.bot._connection.parse_message_create(payload)  # type: ignore[arg-type]

    def calls_for(self, payload: dict[str, Any]) -> list[Any]:
        token = payload["token"]
        return [c for c in self.api.calls if token in c.path]

    async def until_logged(self, fragment: str, count: int = 1, timeout: float = 60.0) -> list[str]:
        """Wait until ``count`` of the bot's log messages contain ``fragment`` (TimeoutError past ``timeout``).

        For handlers discord.py schedules as tasks that send nothing: their log line is the only sign they ran."""

        async def logged() -> list[str]:
            while len(found := [m for _, m in self.log.events if fragment in m]) < count:
                await asyncio.sleep(0.01)
            return found

        return await asyncio.wait_for(logged(), timeout)

    async def until(self, payload: dict[str, Any], count: int, timeout: float = 60.0) -> list[Any]:
        token = payload["token"]
        await self.api.wait_for(lambda calls: sum(token in c.path for c in calls) >= count, timeout)
        return self.calls_for(payload)
