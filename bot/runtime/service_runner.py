"""``course-ta serve``: the scheduler and every bot that has credentials, in one process, with health.

Start order: health endpoint (live at once, not ready) → store → models (only when a bot will
answer) → scheduler → bots. Ready when every started component says so.

Shutdown (SIGTERM or SIGINT), in the order that loses nothing:
1. readiness turns 503 (``draining``) so a load balancer stops routing;
2. the answer service refuses new questions and waits up to ``COURSE_TA_SHUTDOWN_GRACE_S`` for the
   answers in flight; then each bot finishes delivering them (Slack: its listener executor drains;
   Discord: the running command tasks complete) and disconnects;
3. the scheduler finishes the video in progress and saves the store;
4. one ``event=shutdown`` log line with what was finished, exit code 0.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.runtime.health import HealthServer, HealthState
from pipelines.settings import Settings

logger = logging.getLogger("course_ta.service")

COMPONENTS = ("scheduler", "slack", "discord")


def slack_ready(settings: Settings) -> tuple[bool, str]:
    """(can the Slack bot start, the mode or what is missing)."""
    if settings.slack_bot_token is None:
        return False, "SLACK_BOT_TOKEN is not set"
    if settings.slack_mode == "socket" and settings.slack_app_token is None:
        return False, "Socket Mode needs SLACK_APP_TOKEN"
    if settings.slack_mode == "http" and settings.slack_signing_secret is None:
        return False, "HTTP mode needs SLACK_SIGNING_SECRET"
    return True, settings.slack_mode


def discord_ready(settings: Settings) -> tuple[bool, str]:
    """(can the Discord bot start, why not)."""
    if settings.discord_token is None:
        return False, "DISCORD_TOKEN is not set"
    return True, "token set"


def available_components(settings: Settings) -> dict[str, str]:
    """component → why it will or won't run: the scheduler always, bots only with credentials."""
    found = {"scheduler": "always"}
    for name, probe in (("slack", slack_ready), ("discord", discord_ready)):
        ok, why = probe(settings)
        found[name] = why if ok else f"skipped: {why}"
    return found


def choose_components(settings: Settings, requested: str) -> list[str]:
    """``all``: scheduler + bots with credentials; a single name runs just that one (credentials required)."""
    if requested == "all":
        return [name for name, why in available_components(settings).items() if not why.startswith("skipped")]
    if requested not in COMPONENTS:
        raise ValueError(f"unknown component {requested!r}; expected all, {', '.join(COMPONENTS)}")
    return [requested]


@dataclass
class _Stoppable:
    name: str
    stop: Callable[[float], None]


@dataclass
class ServiceRunner:
    """Starts the chosen components behind one health endpoint and stops them in the order that loses nothing."""

    settings: Settings
    components: list[str]
    state: HealthState = field(default_factory=HealthState)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.health: HealthServer | None = None
        self.service: Any = None
        self.desk: Any = None
        self._started: list[_Stoppable] = []
        self._signal: str | None = None
        self._up = False

    # -- start ----------------------------------------------------------------------------

    def start(self) -> None:
        """Health endpoint first, then store, models, scheduler and bots; ready once all are up."""
        self.health = HealthServer(self.state, self.settings.health_host, self.settings.health_port)
        self.health.start()
        logger.info(
            "health endpoint listening", extra={"event": "health_listening", "host": self.settings.health_host, "port": self.health.port}
        )
        # Not ready until every component below has started (checks register one by one).
        self.state.add_check("startup", lambda: (self._up, "all components started" if self._up else "starting"))
        from pipelines.stores.document_store import open_store

        bundle = open_store(self.settings)
        self.state.add_check("store", lambda: (True, f"{bundle.name}: {bundle.store.count_documents()} documents"))
        bots = [name for name in self.components if name in ("slack", "discord")]
        if bots:
            from bot.answering.course_desk import CourseDesk
            from bot.answering.draining import DrainingAnswerService
            from pipelines.courses.course_settings import catalog_of

            catalog = catalog_of(self.settings)
            if catalog.explicit:  # one draining service per course, each on its own index; the models are shared
                self.desk = CourseDesk(self.settings, catalog, service_factory=DrainingAnswerService)
                for course in catalog.courses:
                    self.desk.service(course).warm_up()
                self.service = self.desk.default_service()
            else:
                single = DrainingAnswerService(self.settings, bundle)
                self.desk = CourseDesk(self.settings, catalog, service_factory=lambda _: single)
                self.service = self.desk.default_service()
            self.service.warm_up()
            self.state.add_check("models", lambda: (self.service._warm, "embedding model loaded" if self.service._warm else "loading"))
        if "scheduler" in self.components:
            self._start_scheduler()
        if "slack" in self.components:
            self._start_slack()
        if "discord" in self.components:
            self._start_discord()
        self._up = True
        logger.info(
            "service started",
            extra={"event": "started", "components": self.components, "store": self.settings.describe_store()},
        )

    def _start_scheduler(self) -> None:
        from pipelines.courses.course_settings import catalog_of, settings_for
        from pipelines.courses.course_sources import follow_listed_sources
        from pipelines.freshness.scheduler import FreshnessScheduler

        catalog = catalog_of(self.settings)
        # One scheduler per course: each syncs its own sources into its own ledger and index.
        for course in catalog.courses:
            settings = settings_for(self.settings, course) if catalog.explicit else self.settings
            scheduler = FreshnessScheduler(settings)
            if catalog.explicit:  # the sources the courses file lists for the course are followed like added ones
                follow_listed_sources(course, scheduler.runner.ledger, catalog.path)
            scheduler.start()
            name = f"scheduler:{course.id}" if catalog.explicit else "scheduler"
            self.state.add_check(name, _scheduler_check(scheduler))
            self._started.append(_Stoppable(name, _scheduler_stop(scheduler)))

    def _start_slack(self) -> None:
        from bot.slack.app import create_slack_bot

        bot = create_slack_bot(self.settings, self.service, desk=self.desk)
        if self.settings.slack_mode == "http":
            from bot.slack.server import make_http_server

            server = make_http_server(bot)
            thread = self._thread("slack", lambda: server.serve_forever(poll_interval=0.2))
            self.state.add_check("slack", lambda: (thread.is_alive(), f"Events API on port {server.server_port}"))

            def stop(grace: float) -> None:
                server.shutdown()
                server.server_close()
                bot.close(wait=True)  # lazy listeners finish posting their answers
        else:
            from bot.slack.server import socket_mode_handler

            handler = socket_mode_handler(bot)
            handler.connect()
            self.state.add_check(
                "slack",
                lambda: (
                    handler.client.is_connected(),
                    "Socket Mode connected" if handler.client.is_connected() else "Socket Mode not connected",
                ),
            )

            def stop(grace: float) -> None:
                handler.close()
                bot.close(wait=True)

        self._started.append(_Stoppable("slack", stop))

    def _start_discord(self) -> None:
        from bot.discord.app import build_bot

        assert self.settings.discord_token is not None
        token = self.settings.discord_token.get_secret_value().strip()
        loop = asyncio.new_event_loop()
        bot = build_bot(self.settings, service=self.service, desk=self.desk)
        self._thread("discord", lambda: loop.run_until_complete(bot.start(token)), on_exit=loop.close)
        self.state.add_check("discord", lambda: (bot.is_ready(), "gateway connected" if bot.is_ready() else "connecting"))

        async def drain_and_close(grace: float) -> None:
            # discord.py runs each slash command in a task with this name; let them deliver their answers.
            running = [t for t in asyncio.all_tasks() if t.get_name() == "CommandTree-invoker" and not t.done()]
            if running:
                await asyncio.wait(running, timeout=grace)
            await bot.close()

        def stop(grace: float) -> None:
            if not loop.is_closed():
                asyncio.run_coroutine_threadsafe(drain_and_close(grace), loop).result(timeout=grace + 10)

        self._started.append(_Stoppable("discord", stop))

    def _thread(self, name: str, target: Callable[[], Any], on_exit: Callable[[], Any] | None = None) -> threading.Thread:
        """A component thread; dying before shutdown was asked for makes /livez fail."""

        def run() -> None:
            try:
                target()
                if not self.stop_event.is_set():
                    self.state.mark_dead(name, "stopped unexpectedly")
            except Exception as error:
                logger.exception("%s stopped", name, extra={"event": "component_died", "component": name})
                self.state.mark_dead(name, f"{type(error).__name__}: {error}")
            finally:
                if on_exit is not None:
                    on_exit()

        thread = threading.Thread(target=run, name=f"serve-{name}", daemon=True)
        thread.start()
        return thread

    # -- run and stop -----------------------------------------------------------------------

    def install_signal_handlers(self) -> None:
        """SIGTERM and SIGINT ask for a graceful shutdown (main thread only)."""

        def request_stop(signum: int, frame: object) -> None:
            # Only set flags here: logging from a signal handler can deadlock on the handler's lock.
            self._signal = self._signal or signal.Signals(signum).name
            self.stop_event.set()

        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, request_stop)

    def wait(self) -> None:
        """Block until a stop is requested (the short waits let signal handlers run)."""
        while not self.stop_event.wait(0.5):
            pass

    def shutdown(self) -> dict[str, Any]:
        """Drain answers, stop bots then the scheduler, stop health; returns what the ``shutdown`` log line says."""
        logger.info("shutdown requested", extra={"event": "shutdown_requested", "signal": self._signal})
        self.stop_event.set()
        self.state.draining = True
        grace = self.settings.shutdown_grace_s
        summary: dict[str, Any] = {"event": "shutdown", "signal": self._signal, "components": [s.name for s in self._started]}
        if self.service is not None:
            services = self.desk.services() if self.desk is not None else [self.service]
            in_flight = sum(service.in_flight for service in services)
            results = [service.drain(grace) for service in services]  # every course drains, not only until one fails
            drained = all(results)
            summary.update(in_flight_at_signal=in_flight, answers_finished=drained, answered_total=sum(s.answered for s in services))
        errors = {}
        for component in reversed(self._started):  # bots first, the scheduler last
            try:
                component.stop(grace)
            except Exception as error:
                errors[component.name] = f"{type(error).__name__}: {error}"
        if errors:
            summary["stop_errors"] = errors
        if self.health is not None:
            self.health.stop()
        summary["clean"] = not errors
        logger.info("service stopped", extra=summary)
        return summary


def _scheduler_check(scheduler: Any) -> Callable[[], tuple[bool, str]]:
    return lambda: (scheduler.scheduler.running, f"{len(scheduler.scheduler.get_jobs())} jobs")


def _scheduler_stop(scheduler: Any) -> Callable[[float], None]:
    return lambda grace: scheduler.stop()


def run_service(settings: Settings, requested: str = "all") -> int:
    """Run until SIGTERM/SIGINT; returns the process exit code (0 after a clean shutdown)."""
    from bot.runtime.logs import configure_logging

    configure_logging(settings.log_format, settings.log_level)
    components = choose_components(settings, requested)
    for name, why in available_components(settings).items():
        if name not in components and requested == "all":
            logger.warning(
                "%s not started (%s)", name, why.removeprefix("skipped: "), extra={"event": "component_skipped", "component": name}
            )
    runner = ServiceRunner(settings, components)
    runner.install_signal_handlers()
    try:
        runner.start()
        runner.wait()
    finally:
        summary = runner.shutdown()
    return 0 if summary["clean"] else 1
