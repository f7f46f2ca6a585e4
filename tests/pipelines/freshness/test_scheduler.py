"""The APScheduler jobs running a few short intervals against a local source."""

from __future__ import annotations

import threading

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from pipelines.freshness.ledger import Ledger
from pipelines.freshness.scheduler import FreshnessScheduler
from pipelines.settings import load_settings
from tests.pipelines.freshness.lectures import write_lectures


def test_scheduler_polls_processes_and_persists_jobs(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings(data_dir=tmp_path / "data", worker_interval_seconds=1, poll_interval_minutes=1, sync_workers=1)
    folder = tmp_path / "course"
    write_lectures(folder, 3)
    Ledger.open(settings).add_source("local", str(folder))

    scheduler = FreshnessScheduler(settings)
    runs: list[str] = []
    errors: list[str] = []
    finished = threading.Event()

    def listen(event) -> None:
        if event.exception:
            errors.append(f"{event.job_id}: {event.exception}")
        runs.append(event.job_id)
        if runs.count("worker") >= 3:
            finished.set()

    scheduler.scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    scheduler.start()
    try:
        assert finished.wait(120), runs
    finally:
        scheduler.stop()
    assert not errors
    assert any(run.startswith("poll:") for run in runs)
    ledger = Ledger.open(settings)
    assert all(ledger.stage(f"lecture{i:03d}", "indexed").status == "done" for i in range(3))

    # Restarting registers the same jobs from the persistent store: no duplicates.
    again = FreshnessScheduler(settings)
    again.scheduler.start(paused=True)
    try:
        first = sorted(job.id for job in again.scheduler.get_jobs())
        again.register_jobs()
        assert sorted(job.id for job in again.scheduler.get_jobs()) == first
        assert len(first) == 3 and "worker" in first and "recheck-captions" in first
        assert (tmp_path / "data" / "scheduler.sqlite").exists()
    finally:
        again.stop()
