"""``course-ta schedule``: run the freshness scheduler (one per course) in the foreground until SIGINT/SIGTERM.

Each course's scheduler first records the ``sources`` its entry in the courses file lists (checked as
``add-source`` checks them), so listing a source there is enough for it to be followed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from pipelines.courses.catalog import Course, CourseError
from pipelines.courses.course_settings import catalog_of, settings_for
from pipelines.courses.course_sources import follow_listed_sources
from pipelines.freshness.scheduler import FreshnessScheduler
from pipelines.settings import Settings, SettingsError, load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``schedule`` to the command line."""
    parser = subcommands.add_parser("schedule", help="poll sources and process new videos on a schedule (foreground)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the scheduler until SIGINT/SIGTERM, then drain and save."""
    base = load_settings(deployment=True)
    logging.getLogger("pipelines").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    schedulers = _schedulers(base)
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    for scheduler in schedulers:
        scheduler.start()
    jobs = ", ".join(job.id for scheduler in schedulers for job in scheduler.scheduler.get_jobs())
    print(f"course-ta schedule: running ({jobs}); Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        print("course-ta schedule: stopping (finishing the current video)…", file=sys.stderr, flush=True)
        for scheduler in schedulers:
            scheduler.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("course-ta schedule: stopped", file=sys.stderr)
    return 0


def _schedulers(base: Settings) -> list[FreshnessScheduler]:
    """One scheduler per course (each syncs its own sources into its own index; ``--course`` runs one), not started yet.

    Each course's listed sources are recorded in its ledger first, so its first poll jobs include them.
    """
    schedulers = []
    for course, settings in _scheduled_courses(base):
        scheduler = FreshnessScheduler(settings)
        if course is not None:
            follow_listed_sources(course, scheduler.runner.ledger, base.courses_path)
        schedulers.append(scheduler)
    return schedulers


def _scheduled_courses(base: Settings) -> list[tuple[Course | None, Settings]]:
    """Every course to schedule with its settings: the one named by ``--course``, else all that are not paused.

    The course is None for a deployment without a courses file (nothing is listed to follow).
    """
    try:
        catalog = catalog_of(base)
        if not catalog.explicit:
            return [(None, base)]
        courses = [catalog.get(base.course)] if base.course else catalog.courses
    except CourseError as error:
        raise SettingsError(str(error)) from None
    return [(course, settings_for(base, course)) for course in courses if not course.paused]
