"""Keep the corpus fresh without anyone running commands: APScheduler 3.x jobs around the sync.

Jobs live in a SQLAlchemy job store (SQLite under the data dir by default), so a restarted
scheduler keeps its timings instead of re-polling everything at start-up. Each job has a fixed id
and is (re)registered with ``replace_existing``: restarting never duplicates jobs.

- ``poll:<source>``: list one scheduled source and remove its videos whose files are gone
  (interval ``COURSE_TA_POLL_INTERVAL_MINUTES``); folders ingested by hand are never polled;
- ``worker``: process pending videos and due retries (``COURSE_TA_WORKER_INTERVAL_SECONDS``);
  ``max_instances=1`` so passes never overlap, and Whisper runs ``TRANSCRIPTION_CONCURRENCY`` at a
  time inside the pass;
- ``recheck-captions``: recent videos transcribed for lack of captions get their captions fetched
  again (``COURSE_TA_CAPTION_RECHECK_HOURS``), since YouTube often adds them a day later.

Job functions are module-level (the job store keeps only their import path) and find the
in-process ``SyncRunner`` for their data dir, building one from the settings after a restart.
A source removed with ``course-ta remove-source`` loses its poll job the next time jobs are registered.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from pipelines.freshness.engine import SyncRunner
from pipelines.settings import Settings, load_settings

logger = logging.getLogger(__name__)

_RUNNERS: dict[str, SyncRunner] = {}
_RUNNERS_LOCK = threading.Lock()


def _runner(data_dir: str) -> SyncRunner:
    with _RUNNERS_LOCK:
        runner = _RUNNERS.get(data_dir)
        if runner is None:
            runner = SyncRunner(load_settings(data_dir=data_dir))
            _RUNNERS[data_dir] = runner
        return runner


def poll_job(data_dir: str, source_id: str) -> int:
    """List one source; returns how many videos are new or changed."""
    report = _runner(data_dir).poll([source_id])
    for error in report.source_errors:
        logger.warning("poll: %s", error)
    logger.info("poll %s: %d listed, %d new or changed, %d removed", source_id, report.listed, report.new_or_changed, len(report.removed))
    return report.new_or_changed


def worker_job(data_dir: str) -> int:
    """Process pending videos and due retries; returns how many were indexed."""
    report = _runner(data_dir).process()
    done = report.count("indexed")
    failed = report.count("failed")
    if done or failed:
        logger.info("worker: %d indexed, %d failed, %d waiting", done, failed, report.count("waiting"))
    return done


def recheck_job(data_dir: str) -> int:
    """Fetch captions again for recent videos that were transcribed; returns how many were replaced."""
    return len(_runner(data_dir).recheck_captions())


class FreshnessScheduler:
    """The scheduler with our jobs; ``start()`` runs it in background threads, ``stop()`` drains."""

    def __init__(self, settings: Settings, runner: SyncRunner | None = None) -> None:
        self.settings = settings
        self.data_dir = str(settings.data_dir)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.runner = runner or SyncRunner(settings)
        with _RUNNERS_LOCK:
            _RUNNERS[self.data_dir] = self.runner
        self.scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=settings.scheduler_url)},
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
            timezone=UTC,
        )

    def register_jobs(self, first_run_now: bool = True) -> list[str]:
        """(Re)define every job from the current settings and sources; returns their ids."""
        now = datetime.now(UTC)
        start = now if first_run_now else None
        ids: list[str] = []
        sources = self.runner.ledger.sources(scheduled_only=True)
        for index, source in enumerate(sources):
            job_id = f"poll:{source.source_id}"
            self._add(
                poll_job,
                job_id,
                minutes=self.settings.poll_interval_minutes,
                args=[self.data_dir, source.source_id],
                next_run_time=(start + timedelta(seconds=index)) if start else None,
            )
            ids.append(job_id)
        self._add(
            worker_job,
            "worker",
            seconds=self.settings.worker_interval_seconds,
            args=[self.data_dir],
            next_run_time=(start + timedelta(seconds=len(sources) + 1)) if start else None,
        )
        self._add(recheck_job, "recheck-captions", hours=self.settings.caption_recheck_hours, args=[self.data_dir], next_run_time=None)
        ids += ["worker", "recheck-captions"]
        wanted = set(ids)
        for job in self.scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()  # its source was removed (`course-ta remove-source`) since the jobs were registered
        return ids

    def _add(self, func: Any, job_id: str, args: list[Any], next_run_time: datetime | None, **interval: Any) -> None:
        options: dict[str, Any] = {"id": job_id, "name": job_id, "args": args, "replace_existing": True}
        if next_run_time is not None:
            options["next_run_time"] = next_run_time
        self.scheduler.add_job(func, "interval", **interval, **options)

    def start(self) -> None:
        """Register the jobs and run them in background threads."""
        self.scheduler.start(paused=True)
        self.register_jobs()
        self.scheduler.resume()

    def stop(self) -> None:
        """Finish the video in progress, save the store, stop every job."""
        self.runner.stop_event.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.runner.flush()
        with _RUNNERS_LOCK:
            _RUNNERS.pop(self.data_dir, None)
