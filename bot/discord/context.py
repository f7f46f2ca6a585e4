"""Everything the Discord commands share: the answerer, the voice, memory, playback, guards.

The command modules depend on this module only: they reach the shared :class:`CourseTA` through
``interaction.client.ta`` (a :class:`CourseTAClient`), and the bot in ``app.py`` imports them and
registers them on its tree, so dependencies point one way.

Answering and speaking are CPU work in threads; each has its own single-worker pool so questions
are answered one after another (the query pipeline and Piper are not built for concurrent use),
while the event loop stays free to defer new interactions within Discord's 3 seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import discord

from bot.answering.service import AnswerService
from bot.discord.conversations import Conversations
from bot.discord.guards import DiscordGuards
from bot.discord.voice_queue import VoicePlayback
from pipelines.domain import Answer, Turn
from pipelines.search.video_catalog import VideoCatalog
from pipelines.settings import Settings
from voice.render import Clip, VoiceRenderer, get_renderer

logger = logging.getLogger(__name__)

T = TypeVar("T")


class CourseTA:
    """The shared state of one bot: answerer and voice behind single-worker pools, memory, playback, guards."""

    def __init__(
        self,
        settings: Settings,
        service: AnswerService | None = None,
        renderer: VoiceRenderer | None = None,
        voice_client_class: type[discord.VoiceClient] = discord.VoiceClient,
    ) -> None:
        self.settings = settings
        self.service = service or AnswerService(settings)
        self.renderer = renderer or get_renderer(settings)
        self.catalog = VideoCatalog(self.service.bundle.store, settings=settings)
        self.conversations = Conversations()
        self.guards = DiscordGuards(settings)
        self.playback = VoicePlayback(settings.discord_voice_idle_seconds, voice_client_class)
        self._answer_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="course-ta-answer")
        self._voice_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="course-ta-voice")

    def warm_up(self) -> None:
        """Load the models before the first student waits for them."""
        self.service.warm_up()

    async def answer(self, question: str, history: Sequence[Turn]) -> Answer:
        """The answer, computed in the answer pool so the event loop keeps acknowledging interactions."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._answer_pool, self._answer, question, list(history))

    def _answer(self, question: str, history: list[Turn]) -> Answer:
        logger.debug("answering %d-character question with %d earlier turn(s)", len(question), len(history))
        return self.service.answer(question, history)

    async def speak(self, text: str) -> Clip:
        """The answer as an Ogg/Opus clip; failures come back as ``Clip.error`` (never raised)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._voice_pool, self._speak, text)

    def _speak(self, text: str) -> Clip:
        logger.debug("rendering a clip for %d characters", len(text))
        return self.renderer.render(text, formats=("ogg",))

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Store reads (catalog, summaries) off the event loop, beside the answerer."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._answer_pool, function, *args)

    async def close(self) -> None:
        """Leave voice channels and stop the pools without waiting for queued work."""
        await self.playback.close()
        self._answer_pool.shutdown(wait=False, cancel_futures=True)
        self._voice_pool.shutdown(wait=False, cancel_futures=True)


class CourseTAClient(discord.Client):
    """A ``discord.Client`` that carries the shared :class:`CourseTA`: what every command runs under."""

    def __init__(self, ta: CourseTA, **options: Any) -> None:
        super().__init__(**options)
        self.ta = ta
