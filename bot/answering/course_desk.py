"""The front desk of a multi-course deployment: which course a question is for, and that course's answer service.

Slack and Discord ask the desk, never a store: the desk routes the question (channel, server, the
student's explicit choice or last course), applies the course's pause, rate limit and LLM budget,
and hands it to the course's own :class:`AnswerService`, which can only search that course's index.
A one-course deployment has one desk entry that is exactly the old single service.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from bot.answering.service import AnswerService
from pipelines.courses.catalog import Course, CourseCatalog
from pipelines.courses.course_settings import catalog_of, settings_for
from pipelines.courses.hints import hint_topic
from pipelines.courses.limits import CourseLimits, paused_notice
from pipelines.courses.routing import CourseRouter, Route
from pipelines.llm.llm_answerer import LLMAnswerer
from pipelines.settings import Settings
from voice.render import VoiceRenderer, get_renderer


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
    """Routes questions to per-course services, built on first use and shared by all front doors; thread-safe."""

    def __init__(
        self,
        base: Settings,
        catalog: CourseCatalog | None = None,
        service_factory: Callable[[Settings], AnswerService] = AnswerService,
    ) -> None:
        self.base = base
        self.catalog = catalog or catalog_of(base)
        memory = base.data_dir / "course_routes.sqlite" if self.catalog.explicit else None
        self.router = CourseRouter(self.catalog, memory)
        self.limits = CourseLimits.of_deployment(base.data_dir)
        self._factory = service_factory
        self._services: dict[str, AnswerService] = {}
        self._spent: dict[str, int] = {}
        self._settings: dict[str, Settings] = {}
        self._lock = threading.Lock()

    @classmethod
    def for_front_door(cls, settings: Settings, service: AnswerService | None = None) -> CourseDesk:
        """The desk a front door serves from: every course of the courses file, or the one course around ``service``."""
        catalog = catalog_of(settings)
        if catalog.explicit:
            return cls(settings, catalog)
        single = service or AnswerService(settings)
        return cls(settings, catalog, service_factory=lambda _: single)

    def default_service(self) -> AnswerService:
        """The first course's service (the only one in a one-course deployment)."""
        return self.service(self.catalog.courses[0])

    def settings(self, course: Course) -> Settings:
        """The settings the course's service runs with (its own data dir, index, voice, threshold); one object per course."""
        if not self.catalog.explicit:
            return self.base
        with self._lock:
            settings = self._settings.get(course.id)
            if settings is None:
                settings = self._settings[course.id] = settings_for(self.base, course)
            return settings

    def renderer(self, course: Course | None) -> VoiceRenderer | None:
        """The course's own voice when it names one (None: the front door's usual renderer)."""
        if course is None or not course.voice_name or not self.catalog.explicit:
            return None
        return get_renderer(self.settings(course))

    def service(self, course: Course) -> AnswerService:
        """The course's answer service, built once."""
        with self._lock:
            service = self._services.get(course.id)
        if service is None:
            built = self._factory(self.settings(course))
            with self._lock:
                service = self._services.setdefault(course.id, built)
        return service

    def services(self) -> list[AnswerService]:
        """The services built so far (to warm up or close)."""
        with self._lock:
            return list(self._services.values())

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
        """Route and admit a Slack question."""
        return self.ticket(self.router.slack(user, channel, question, direct=direct))

    def discord(self, user: str, guild: str | None, channel: str | None, question: str, explicit: str | None = None) -> DeskTicket:
        """Route and admit a Discord question (``explicit`` is the ``course`` option)."""
        return self.ticket(self.router.discord(user, guild, channel, question, explicit))

    def command_line(self, course: Course, question: str) -> DeskTicket:
        """Admit a question asked with ``course-ta ask``: the course's pause, LLM budget and hint mode, but no per-minute rate.

        The per-minute rate shields a course from chat floods; an instructor's terminal (a ``--batch``
        of hundreds of questions included) is not one, and refusing it half-way would only break scripts.
        """
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
            delta = total - self._spent.get(course.id, 0)
            self._spent[course.id] = total
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
