"""Everything the Discord commands share: the answerer, the voice, memory, playback, guards.

The command modules depend on this module only: they reach the shared :class:`CourseTA` through
``interaction.client.ta`` (a :class:`CourseTAClient`), and the bot in ``app.py`` imports them and
registers them on its tree, so dependencies point one way.

Answering and speaking are CPU work in threads, so the event loop stays free to defer new
interactions within Discord's 3 seconds. Answers run in the service's answer pool (one worker per
core, shared with Slack when both run in one process, with its answer cache); clips run in their own
smaller voice pool at lower priority, so the text of an answer never waits for a clip.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import discord

from bot.answering.course_desk import CourseDesk, DeskTicket
from bot.answering.feedback import AnswerLog
from bot.answering.service import AnswerService
from bot.answering.voice_pool import VoicePool
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
    """The shared state of one bot: the answer service and its pool, the voice pool, memory, playback, guards."""

    def __init__(
        self,
        settings: Settings,
        service: AnswerService | None = None,
        renderer: VoiceRenderer | None = None,
        voice_client_class: type[discord.VoiceClient] = discord.VoiceClient,
        desk: CourseDesk | None = None,
    ) -> None:
        self.settings = settings
        # Which course a question is for, and that course's service; one course: exactly ``service``.
        self.desk = desk or CourseDesk.for_front_door(settings, service)
        self.service = self.desk.default_service()
        self.renderer = renderer or get_renderer(settings)
        self.catalog = VideoCatalog(self.service.bundle.store, settings=settings)
        self._catalogs: dict[str, VideoCatalog] = {}  # per course, in a deployment with several
        self._catalogs_lock = threading.Lock()
        self.conversations = Conversations()
        self.log = AnswerLog(settings.feedback_db_path)  # every posted answer, as Slack logs them (the console reads it)
        self.guards = DiscordGuards(settings)
        self.playback = VoicePlayback(settings.discord_voice_idle_seconds, voice_client_class)
        self.voice = VoicePool.from_settings(settings, self.renderer)
        # Store reads for /summary and autocomplete: quick, and never queued behind answers.
        self._reads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="course-ta-read")

    def warm_up(self) -> None:
        """Load the models before the first student waits for them."""
        self.service.warm_up()

    async def ask(
        self, question: str, history: Sequence[Turn], ticket: DeskTicket | None = None
    ) -> tuple[asyncio.Future[Answer], int | None]:
        """Hand the question to the answer pool: (the answer to await, how many wait ahead of it or None when it runs at once).

        ``ticket`` (from :attr:`desk`) names the course's service and hint mode; without it the
        default course answers. Submitting reads the index version (a store call), so it runs off
        the event loop too.
        """
        logger.debug("answering %d-character question with %d earlier turn(s)", len(question), len(history))
        service = ticket.service if ticket is not None and ticket.service is not None else self.service
        hint = ticket.hint if ticket is not None else None
        ahead: list[int] = []
        future: Future[Answer] = await asyncio.to_thread(service.submit, question, list(history), ahead.append, hint)
        if ticket is not None and ticket.course is not None:
            course = ticket.course
            future.add_done_callback(lambda _: self.desk.record_spend(course, service))
        return asyncio.wrap_future(future), (ahead[0] if ahead else None)

    async def answer(self, question: str, history: Sequence[Turn]) -> Answer:
        """The answer, computed in the answer pool so the event loop keeps acknowledging interactions."""
        pending, _ = await self.ask(question, history)
        return await pending

    def speak(self, text: str, ticket: DeskTicket | None = None) -> asyncio.Future[Clip]:
        """Start the clip in the voice pool now (in the course's voice); await it for an Ogg/Opus clip (failures are ``Clip.error``)."""
        logger.debug("rendering a clip for %d characters", len(text))
        renderer = self.desk.renderer(ticket.course) if ticket is not None else None
        return asyncio.wrap_future(self.voice.submit(text, ("ogg",), renderer))

    def catalog_for(self, user: int, guild: int | None, channel: int | None) -> VideoCatalog:
        """The video catalog of the course asked about here (the channel's or server's, else the student's last one)."""
        if not self.desk.catalog.explicit:
            return self.catalog
        route = self.desk.router.discord(str(user), str(guild) if guild else None, str(channel) if channel else None, "")
        if route.course is None:
            return self.catalog
        with self._catalogs_lock:
            catalog = self._catalogs.get(route.course.id)
            if catalog is None:
                service = self.desk.service(route.course)
                catalog = self._catalogs[route.course.id] = VideoCatalog(service.bundle.store, settings=self.desk.settings(route.course))
        return catalog

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Store reads (catalog, summaries) off the event loop, outside the answer queue."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._reads, function, *args)

    async def close(self) -> None:
        """Leave voice channels and stop the voice and read pools without waiting for queued work.

        The answer service (and its pool) may be shared with other front doors; its owner closes it.
        """
        await self.playback.close()
        self.voice.shutdown()
        self._reads.shutdown(wait=False, cancel_futures=True)


class CourseTAClient(discord.Client):
    """A ``discord.Client`` that carries the shared :class:`CourseTA`: what every command runs under."""

    def __init__(self, ta: CourseTA, **options: Any) -> None:
        super().__init__(**options)
        self.ta = ta
