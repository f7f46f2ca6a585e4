"""kill -9 in the middle of a sync or an ingest, restart: the store ends up exactly as after a clean run.

The kill is deterministic: the killed process runs the real engine with a progress observer that
sends itself SIGKILL when the seventh video is about to be indexed, after the store was saved once
(every four videos in that process) and with two indexed videos not saved yet.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from tests.pipelines.freshness.conftest import REPO
from tests.pipelines.freshness.lectures import write_lectures

KILL_AT_INDEXING = 7
SAVE_EVERY = 4

# Runs in the process that is killed: the real engine, saving every SAVE_EVERY videos, killed by its own progress observer.
KILLED_RUN = f"""
import os, signal, sys
from pathlib import Path
from pipelines.freshness.engine import Progress, SyncRunner
from pipelines.settings import load_settings

class KillWhileIndexing(Progress):
    def __init__(self):
        self.indexing = 0
    def stage(self, ref, stage):
        if stage == "indexed":
            self.indexing += 1
            if self.indexing == {KILL_AT_INDEXING}:
                os.kill(os.getpid(), signal.SIGKILL)

mode, folder = sys.argv[1], Path(sys.argv[2])
runner = SyncRunner(
    load_settings(), progress=KillWhileIndexing(), transcribe_media=(mode == "sync"),
    save_every_videos={SAVE_EVERY}, save_every_seconds=86400.0,
)
runner.sync_once() if mode == "sync" else runner.ingest([folder])
"""


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {"COURSE_TA_DATA_DIR": str(data_dir), "COURSE_TA_SYNC_WORKERS": "1", "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    )
    return env


def _run(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, env=_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return _run(data_dir, sys.executable, "-m", "bot.cli.main", *args)


def _done(ledger: Path, stage: str) -> int:
    with sqlite3.connect(ledger, timeout=5) as db:
        return db.execute("SELECT COUNT(*) FROM stages WHERE stage = ? AND status = 'done'", (stage,)).fetchone()[0]


def _store(data_dir: Path) -> dict[str, tuple[str, str]]:
    store = PersistentInMemoryDocumentStore(data_dir / "store")
    return {d.id: (d.content, d.meta["video_id"]) for d in store.filter_documents()}


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("resume") / "course"
    return folder, write_lectures(folder, 9, paragraphs_each=3)


@pytest.fixture(scope="module")
def clean_index(course: tuple[Path, list[str]], tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """The index a clean, uninterrupted sync builds."""
    data_dir = tmp_path_factory.mktemp("clean")
    assert _cli(data_dir, "add-source", str(course[0])).returncode == 0
    done = _cli(data_dir, "sync", "--once", "--no-progress")
    assert done.returncode == 0, done.stdout.decode()
    return _store(data_dir)


@pytest.mark.parametrize("mode", ["sync", "ingest"])
def test_sigkill_mid_run_then_rerun_equals_a_clean_run(mode: str, course, clean_index, tmp_path: Path) -> None:
    folder, ids = course
    data_dir = tmp_path / "killed"
    if mode == "sync":
        assert _cli(data_dir, "add-source", str(folder)).returncode == 0
    killed = _run(data_dir, sys.executable, "-c", KILLED_RUN, mode, str(folder))
    assert killed.returncode == -signal.SIGKILL, killed.stdout.decode()
    ledger = data_dir / "ledger.sqlite"
    assert _done(ledger, "cleaned") == KILL_AT_INDEXING
    assert _done(ledger, "indexed") == SAVE_EVERY  # the two indexed after the save were lost with the process
    assert {video for _, video in _store(data_dir).values()} == set(ids[:SAVE_EVERY])

    rerun = _cli(data_dir, *(["sync", "--once"] if mode == "sync" else ["ingest", str(folder)]), "--no-progress")
    assert rerun.returncode == 0, rerun.stdout.decode()
    assert _store(data_dir) == clean_index
    assert {video for _, video in clean_index.values()} == set(ids)
    assert _done(ledger, "indexed") == len(ids)
    if mode == "ingest":  # the four saved videos are reported as such; the rest are embedded now
        assert f"ingested {len(ids)} video(s)" in rerun.stdout.decode()
        assert f"{len(ids) - SAVE_EVERY} added, 0 updated, {SAVE_EVERY} unchanged, 0 failed" in rerun.stdout.decode()
