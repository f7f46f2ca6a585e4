"""Fixtures: one real index of the sample course and a real Piper renderer for the whole session,
and a scenario that runs the real bot against the local Discord API server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import discord
import pytest

import pipelines
from bot.answering.service import AnswerService
from bot.discord.app import CourseTABot
from bot.discord.context import CourseTA
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import Settings, load_settings
from tests.bot.discord.discord_loopback_voice import LoopbackVoiceClient
from tests.bot.discord.discord_payloads import GUILD_ID, guild_create
from tests.bot.discord.discord_scenario import EventLog, Scenario
from tests.fakes.discord_rest import DiscordAPI
from voice.render import VoiceRenderer

SAMPLE_COURSE = Path(pipelines.__file__).resolve().parent / "sample_course"


@pytest.fixture(scope="session")
def course_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("discord-course")


@pytest.fixture(scope="session")
def indexed(course_dir: Path) -> tuple[AnswerService, VoiceRenderer]:
    settings = load_settings(data_dir=course_dir, voice_backends="piper")
    ingestor = Ingestor(settings)
    report = ingestor.ingest([SAMPLE_COURSE])
    assert report.succeeded
    service = AnswerService(settings, ingestor.bundle)
    service.warm_up()
    return service, VoiceRenderer(settings)


@pytest.fixture(scope="session")
def short_renderer(course_dir: Path) -> VoiceRenderer:
    """Clips capped at ~3 s: voice tests play them through discord.py's real-time player."""
    return VoiceRenderer(load_settings(data_dir=course_dir, voice_backends="piper", voice_max_seconds=3))


ScenarioBody = Callable[[Scenario], Awaitable[None]]


@pytest.fixture
def run_bot(indexed: tuple[AnswerService, VoiceRenderer], course_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """``run_bot(body, **settings)``: log in against the local API, load a guild, run ``body``.

    Logging in runs the bot's ``setup_hook`` (warm-up, command sync) as ``course-ta serve discord``
    does; ``prepare_api`` may set up the server (e.g. a failing route) before that happens."""
    service, renderer = indexed

    def run(
        body: ScenarioBody,
        service_override: AnswerService | None = None,
        renderer_override: VoiceRenderer | None = None,
        prepare_api: Callable[[DiscordAPI], None] | None = None,
        **overrides: Any,
    ) -> None:
        values: dict[str, Any] = {
            "data_dir": course_dir,
            "voice_backends": "piper",
            "discord_test_guild_id": str(GUILD_ID),
            "discord_cooldown_seconds": 0,
        }
        values.update(overrides)
        settings: Settings = load_settings(deployment=True, **values)

        async def scenario() -> None:
            api = DiscordAPI()
            monkeypatch.setattr(discord.http.Route, "BASE", await api.start())
            if prepare_api is not None:
                prepare_api(api)
            log = EventLog()
            logger = logging.getLogger("bot.discord")
            logger.addHandler(log)
            previous = logger.level
            logger.setLevel(logging.DEBUG)
            LoopbackVoiceClient.instances.clear()
            bot = CourseTABot(CourseTA(settings, service_override or service, renderer_override or renderer, LoopbackVoiceClient))
            try:
                await bot.login("test-token")
                bot._connection.parse_guild_create(guild_create())
                await body(Scenario(api, bot, log))
            finally:
                await bot.close()
                await api.stop()
                logger.removeHandler(log)
                logger.setLevel(previous)

        asyncio.run(scenario())

    return run
