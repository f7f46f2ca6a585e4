"""kill -9 in the middle of a sync, restart: the store ends up exactly as after a clean run."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from tests.pipelines.freshness.conftest import REPO
from tests.pipelines.freshness.lectures import write_lectures


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {"COURSE_TA_DATA_DIR": str(data_dir), "COURSE_TA_SYNC_WORKERS": "1", "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    )
    return env


def _cli(data_dir: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", *args], cwd=REPO, env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _done(ledger: Path, stage: str) -> int:
    if not ledger.exists():
        return 0
    try:
        with sqlite3.connect(ledger, timeout=1) as db:
            return db.execute("SELECT COUNT(*) FROM stages WHERE stage = ? AND status = 'done'", (stage,)).fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def _store(data_dir: Path) -> dict[str, tuple[str, str]]:
    store = PersistentInMemoryDocumentStore(data_dir / "store")
    return {d.id: (d.content, d.meta["video_id"]) for d in store.filter_documents()}


def test_sigkill_mid_sync_then_restart_equals_clean_run(tmp_path):
    folder = tmp_path / "course"
    ids = write_lectures(folder, 16, paragraphs_each=5)
    killed, clean = tmp_path / "killed", tmp_path / "clean"
    for data_dir in (killed, clean):
        assert _cli(data_dir, "add-source", str(folder)).wait(60) == 0

    worker = _cli(killed, "sync", "--once", "--no-progress")
    ledger = killed / "ledger.sqlite"
    deadline = time.monotonic() + 120
    while _done(ledger, "cleaned") < 6 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    worker.send_signal(signal.SIGKILL)
    assert worker.wait(30) == -signal.SIGKILL, "the sync finished before it could be killed"
    assert _done(ledger, "indexed") < len(ids)

    resumed = _cli(killed, "sync", "--once", "--no-progress")
    reference = _cli(clean, "sync", "--once", "--no-progress")
    out_resumed = resumed.communicate(timeout=240)[0].decode()
    out_reference = reference.communicate(timeout=240)[0].decode()
    assert resumed.returncode == 0, out_resumed
    assert reference.returncode == 0, out_reference

    after_kill, after_clean = _store(killed), _store(clean)
    assert after_kill == after_clean
    assert {video for _, video in after_kill.values()} == set(ids)
    assert _done(ledger, "indexed") == len(ids)
