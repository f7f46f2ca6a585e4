"""``course-ta schedule``: run the freshness scheduler in the foreground until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from pipelines.freshness.scheduler import FreshnessScheduler
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``schedule`` to the command line."""
    parser = subcommands.add_parser("schedule", help="poll sources and process new videos on a schedule (foreground)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the scheduler until SIGINT/SIGTERM, then drain and save."""
    settings = load_settings()
    logging.getLogger("pipelines").setLevel(logging.INFO)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = FreshnessScheduler(settings)
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    scheduler.start()
    jobs = ", ".join(job.id for job in scheduler.scheduler.get_jobs())
    print(f"course-ta schedule: running ({jobs}); Ctrl-C to stop", file=sys.stderr, flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        print("course-ta schedule: stopping (finishing the current video)…", file=sys.stderr, flush=True)
        scheduler.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("course-ta schedule: stopped", file=sys.stderr)
    return 0
