"""The front desk of a multi-course deployment: which course a question is for, and that course's answer service.

Slack and Discord ask the desk, never a store: the desk routes the question (channel, server, the
student's explicit choice or last course), applies the course's pause, rate limit and LLM budget,
and hands it to the course's own :class:`AnswerService`, which can only search that course's index.
A one-course deployment has one desk entry that is exactly the old single service.

The desk follows its courses file while it runs: a pause, a policy, a channel or a new course written to
``courses.toml`` applies to the next question (the file is looked at every few seconds, see
:mod:`pipelines.courses.catalog_watch`); the services of courses whose settings did not change are kept.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.answering.service import AnswerService
from pipelines.courses.catalog import Course, CourseCatalog
from pipelines.courses.catalog_watch import RECHECK_S, CatalogWatch
from pipelines.courses.course_settings import catalog_of, settings_for
from pipelines.courses.hints import hint_topic
from pipelines.courses.limits import CourseLimits, paused_notice
from pipelines.courses.routing import ROUTES_FILE, CourseRouter, Route
from pipelines.llm.llm_answerer import LLMAnswerer
from pipelines.settings import Settings
from voice.render import VoiceRenderer, get_renderer

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeskTicket:
    """A routed question: the course's service and policy, or the message to send instead (ask which course, paused, busy)."""

    route: Route
    service: AnswerService | None = None
    refusal: str = ""

    @property
    def course(self) -> Course | None:
        """The course the question was routed to (None when the student must choose)."""
        return self.route.course

    @property
    def question(self) -> str:
        """The question without any course prefix."""
        return self.route.question

    @property
    def private(self) -> bool:
        """Answer ephemerally: only the student sees it."""
        return bool(self.route.course and self.route.course.policy.private_answers)

    @property
    def hint(self) -> str | None:
        """The graded assignment the question names, when the course answers it in hint mode."""
        course = self.route.course
        return hint_topic(self.route.question, course.policy.hint_topics) if course else None


class CourseDesk:
    """Routes questions to per-course services, built on first use and shared by all front doors; thread-safe.

    With a courses file the desk re-reads it when it changed (looked at every ``recheck_s`` seconds of
    ``clock`` on the question path, or at once with :meth:`refresh`); an invalid file keeps the last good courses.
    """

    def __init__(
        self,
        base: Settings,
        catalog: CourseCatalog | None = None,
        service_factory: Callable[[Settings], AnswerService] = AnswerService,
        *,
        recheck_s: float = RECHECK_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.base = base
        catalog = catalog or catalog_of(base)
        self._catalog = catalog
        self._memory = base.data_dir / ROUTES_FILE if catalog.explicit else None
        self._router = CourseRouter(catalog, self._memory)
        # A deployment without a courses file stays one course until restarted: its single service is not per course.
        self._watch = CatalogWatch(catalog, every_s=recheck_s, clock=clock) if catalog.explicit else None
        self.limits = CourseLimits.of_deployment(base.data_dir)
        self._factory = service_factory
        self._services: dict[str, AnswerService] = {}
        self._retired: list[AnswerService] = []
        # What each service's LLM client had spent at the last charge (per service: a course's service can be replaced).
        self._spent: dict[AnswerService, int] = {}
        self._settings: dict[str, Settings] = {}
        self._listeners: list[Callable[[CourseCatalog], object]] = []
        self._lock = threading.Lock()

    @classmethod
    def for_front_door(cls, settings: Settings, service: AnswerService | None = None) -> CourseDesk:
        """The desk a front door serves from: every course of the courses file, or the one course around ``service``."""
        catalog = catalog_of(settings)
        if catalog.explicit:
            return cls(settings, catalog)
        single = service or AnswerService(settings)
        return cls(settings, catalog, service_factory=lambda _: single)

    @property
    def catalog(self) -> CourseCatalog:
        """The courses as the courses file says now (re-read when it changed, at most every few seconds)."""
        self.refresh()
        return self._catalog

    @property
    def router(self) -> CourseRouter:
        """The router for the courses as they are now."""
        self.refresh()
        return self._router

    def refresh(self, *, force: bool = False) -> bool:
        """Apply a changed courses file: when the re-check is due, or now with ``force``; True when the courses changed.

        Never raises: a file that cannot be read or is invalid keeps the courses served so far (the watch
        logs it once), and anything unexpected is logged as one line for the same reason.
        """
        if self._watch is None:
            return False
        try:
            catalog = self._watch.poll(force=force)
            if catalog is None:
                return False
            self._apply(catalog)
        except Exception as error:  # a question must never fail because of the courses file
            logger.error(
                "courses file %s: could not apply it (%s: %s); the courses stay as they were", self._watch.path, type(error).__name__, error
            )
            return False
        for listener in list(self._listeners):
            try:
                listener(catalog)
            except Exception as error:
                logger.error(
                    "courses file %s: a front door could not follow the change (%s: %s)", self._watch.path, type(error).__name__, error
                )
        return True

    def on_change(self, listener: Callable[[CourseCatalog], object]) -> None:
        """Call ``listener`` with the new courses each time a changed courses file is applied.

        For what a front door derived from the courses when it started (channel allow-lists, channels
        answered without a mention), so an edit reaches those too.
        """
        self._listeners.append(listener)

    def _apply(self, catalog: CourseCatalog) -> None:
        """Serve ``catalog`` from now on, keeping each built service whose course settings did not change."""
        settings = {course.id: settings_for(self.base, course) for course in catalog.courses}
        router = CourseRouter(catalog, self._memory)
        with self._lock:
            for course_id in list(self._services):
                if settings.get(course_id) != self._settings.get(course_id):
                    # Its data dir, voice or threshold changed, or the course is gone: the next question builds a new
                    # service. The old one may still be answering, so it is kept for draining, not closed.
                    self._retired.append(self._services.pop(course_id))
            self._settings = {course_id: s for course_id, s in settings.items() if course_id in self._services}
            self._catalog, self._router = catalog, router

    def _current(self, course: Course) -> Course:
        """The course as the catalog says now (a route may carry the version from before a reload)."""
        return next((c for c in self._catalog.courses if c.id == course.id), course)

    def default_service(self) -> AnswerService:
        """The first course's service (the only one in a one-course deployment)."""
        return self.service(self._catalog.courses[0])

    def settings(self, course: Course) -> Settings:
        """The settings the course's service runs with (its own data dir, index, voice, threshold); one object per course."""
        if not self._catalog.explicit:
            return self.base
        with self._lock:
            settings = self._settings.get(course.id)
            if settings is None:
                settings = self._settings[course.id] = settings_for(self.base, self._current(course))
            return settings

    def renderer(self, course: Course | None) -> VoiceRenderer | None:
        """The course's own voice when it names one (None: the front door's usual renderer)."""
        if course is None or not course.voice_name or not self._catalog.explicit:
            return None
        return get_renderer(self.settings(course))

    def service(self, course: Course) -> AnswerService:
        """The course's answer service, built once (and again only when a courses file change altered its settings)."""
        with self._lock:
            service = self._services.get(course.id)
        if service is None:
            settings = self.settings(course)
            built = self._factory(settings)
            with self._lock:
                if self._catalog.explicit and self._settings.get(course.id) is not settings:
                    return built  # the courses changed while it was built: answer with it once, keep none
                service = self._services.setdefault(course.id, built)
        return service

    def services(self) -> list[AnswerService]:
        """The services built so far (to warm up or close), those replaced after a courses file change included."""
        with self._lock:
            return list(self._services.values()) + self._retired

    def ticket(self, route: Route) -> DeskTicket:
        """The service for a routed question, or why it cannot be asked now (choose a course, paused, rate limited)."""
        if route.course is None:
            return DeskTicket(route, refusal=route.ask_which)
        refusal = self.limits.refusal(route.course)
        if refusal:
            return DeskTicket(route, refusal=refusal)
        service = self.service(route.course)
        self._apply_budget(route.course, service)
        return DeskTicket(route, service)

    def slack(self, user: str, channel: str, question: str, *, direct: bool = False) -> DeskTicket:
        """Route and admit a Slack question (under the courses file as it is now)."""
        return self.ticket(self.router.slack(user, channel, question, direct=direct))

    def discord(self, user: str, guild: str | None, channel: str | None, question: str, explicit: str | None = None) -> DeskTicket:
        """Route and admit a Discord question (``explicit`` is the ``course`` option; the courses file as it is now)."""
        return self.ticket(self.router.discord(user, guild, channel, question, explicit))

    def command_line(self, course: Course, question: str) -> DeskTicket:
        """Admit a question asked with ``course-ta ask``: the course's pause, LLM budget and hint mode, but no per-minute rate.

        The per-minute rate shields a course from chat floods; an instructor's terminal (a ``--batch``
        of hundreds of questions included) is not one, and refusing it half-way would only break scripts.
        """
        self.refresh()
        course = self._current(course)
        route = Route(course, question, how="command line")
        refusal = paused_notice(course)
        if refusal:
            return DeskTicket(route, refusal=refusal)
        service = self.service(course)
        self._apply_budget(course, service)
        return DeskTicket(route, service)

    def record_spend(self, course: Course, service: AnswerService) -> None:
        """Charge the course's daily LLM budget with what its service spent since the last call."""
        answerer = _llm_answerer(service)
        if answerer is None:
            return
        with self._lock:
            total = answerer.client.usage.total_tokens
            delta = total - self._spent.get(service, 0)
            self._spent[service] = total
        self.limits.spend(course.id, delta)

    def _apply_budget(self, course: Course, service: AnswerService) -> None:
        """Cap the course's LLM client at what is left of today's budget; past it the answers are offline (extractive)."""
        budget = course.policy.llm_daily_tokens
        answerer = _llm_answerer(service)
        if not budget or answerer is None:
            return
        left = max(0, budget - self.limits.tokens_spent(course.id))
        usage = answerer.client.usage
        # The client refuses once its running total reaches the cap, so the cap is "spent so far + left today".
        usage.exhausted = left == 0
        usage.budget_tokens = usage.total_tokens + left if left else 0


def _llm_answerer(service: AnswerService) -> LLMAnswerer | None:
    try:
        component = service.pipeline.get_component("answerer")
    except (ValueError, KeyError):
        return None
    return component if isinstance(component, LLMAnswerer) else None
