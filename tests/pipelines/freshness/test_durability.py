"""Finished work survives whatever happens to a run: kill -9 at any stage or mid-save, Ctrl-C, a video that
raises anything, a full disk; and a resumed run ends with the same index as a clean one.

Runs that must die are real ingest processes of the real engine; they stop themselves at a chosen
point through the engine's progress hooks and the store's fault-injection point (``save_hook``),
so every kill lands at the same place on every machine.
"""

from __future__ import annotations

import errno
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.freshness.engine import Progress, SyncRunner
from pipelines.freshness.inputs import sha
from pipelines.settings import load_settings
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from pipelines.stores.errors import StoreWriteError
from pipelines.stores.store_file import STORE_FILE, TEMP_PREFIX
from tests.pipelines.freshness.conftest import REPO
from tests.pipelines.freshness.lectures import write_lectures

VIDEOS = 8
SAVE_EVERY = 2

# The real engine in ingest mode, saving every SAVE_EVERY videos; it sends itself SIGNAL the NTH time
# POINT is reached: a stage about to run (transcript, cleaned, summarized, indexed) or a save step
# (temp-written: the new file is written but not renamed; replaced: renamed, ledger not yet told).
RUN = """
import os, signal, sys
from pathlib import Path
from pipelines.freshness.engine import Progress, SyncRunner
from pipelines.settings import load_settings
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore

point, nth, name, folder, save_every = sys.argv[1], int(sys.argv[2]), sys.argv[3], Path(sys.argv[4]), int(sys.argv[5])
seen = {}

def reached(what):
    seen[what] = seen.get(what, 0) + 1
    if what == point and seen[what] == nth:
        os.kill(os.getpid(), getattr(signal, name))

class Hooks(Progress):
    def stage(self, ref, stage):
        reached(stage)

PersistentInMemoryDocumentStore.save_hook = lambda step, path: reached(step)
runner = SyncRunner(load_settings(), progress=Hooks(), transcribe_media=False, save_every_videos=save_every, save_every_seconds=86400.0)
try:
    runner.ingest([folder])
except KeyboardInterrupt:
    print("interrupted; saved", runner.saves.saved_videos)
    sys.exit(130)
print("finished; saved", runner.saves.saved_videos)
"""

# (point, nth): the chain of kills, each run resuming what the one before left. With 8 videos saved
# two at a time, these land in every stage, between a save's write and its rename, and between the
# rename and the ledger (see the module docstring of pipelines.freshness.saving).
KILLS = [
    ("transcript", 3),
    ("cleaned", 1),
    ("summarized", 2),
    ("indexed", 3),
    ("temp-written", 1),
    ("replaced", 1),
]


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {"COURSE_TA_DATA_DIR": str(data_dir), "COURSE_TA_SYNC_WORKERS": "1", "HF_HUB_OFFLINE": "1", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    )
    return env


def _run(data_dir: Path, folder: Path, point: str = "", nth: int = 0, name: str = "SIGKILL", save_every: int = SAVE_EVERY):
    return subprocess.run(
        [sys.executable, "-c", RUN, point, str(nth), name, str(folder), str(save_every)],
        cwd=REPO,
        env=_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=300,
        check=False,
    )


def _store(data_dir: Path) -> dict[str, tuple[str, str]]:
    store = PersistentInMemoryDocumentStore(data_dir / "store")  # raises StoreCorruptError on a damaged file
    return {d.id: (d.content or "", d.meta["video_id"]) for d in store.filter_documents()}


def _indexed(data_dir: Path) -> dict[str, str]:
    """Video id → the output hash of its ``indexed`` stage, for videos the ledger marks indexed."""
    with sqlite3.connect(data_dir / "ledger.sqlite", timeout=5) as db:
        rows = db.execute("SELECT video_id, output_hash FROM stages WHERE stage = 'indexed' AND status = 'done'").fetchall()
    return dict(rows)


def _assert_marked_only_after_saved(data_dir: Path) -> None:
    """Every video the ledger calls indexed has exactly its documents in the file on disk."""
    by_video: dict[str, list[str]] = {}
    for document_id, (_, video_id) in _store(data_dir).items():
        by_video.setdefault(video_id, []).append(document_id)
    for video_id, output_hash in _indexed(data_dir).items():
        assert sha(sorted(by_video.get(video_id, []))) == output_hash, video_id


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("durability") / "course"
    return folder, write_lectures(folder, VIDEOS, paragraphs_each=2)


@pytest.fixture
def clean_index(course, tmp_path: Path) -> dict[str, tuple[str, str]]:
    """What one uninterrupted ingest of the course builds (in this process: the embedder is already loaded)."""
    settings = load_settings(data_dir=tmp_path / "clean")
    report = SyncRunner(settings, transcribe_media=False, save_every_videos=SAVE_EVERY, save_every_seconds=86400.0).ingest([course[0]])
    assert report.count("failed") == 0
    return _store(settings.data_dir)


@pytest.mark.timeout(1500)
def test_kill_9_at_every_stage_and_mid_save_then_resume_equals_a_clean_run(course, clean_index, tmp_path: Path) -> None:
    folder, ids = course
    data_dir = tmp_path / "killed"
    for point, nth in KILLS:
        killed = _run(data_dir, folder, point, nth)
        assert killed.returncode == -signal.SIGKILL, f"{point} #{nth} was not reached:\n{killed.stdout.decode()}"
        _assert_marked_only_after_saved(data_dir)
    assert len(_indexed(data_dir)) == 4  # the last kill came after the file held six videos but before the ledger knew
    finished = _run(data_dir, folder)
    assert finished.returncode == 0, finished.stdout.decode()
    assert _store(data_dir) == clean_index
    assert {video for _, video in clean_index.values()} == set(ids)
    assert set(_indexed(data_dir)) == set(ids)
    _assert_marked_only_after_saved(data_dir)
    assert not list((data_dir / "store").glob(f"{TEMP_PREFIX}*"))  # the temp file of the kill mid-save was cleaned up


class InterruptAt(Progress):
    """Sends this process a real SIGINT (what Ctrl-C sends) when the given stage of the nth video is about to run."""

    def __init__(self, stage: str, nth: int) -> None:
        self.wanted, self.nth, self.seen = stage, nth, 0

    def stage(self, ref, stage: str) -> None:
        if stage == self.wanted:
            self.seen += 1
            if self.seen == self.nth:
                os.kill(os.getpid(), signal.SIGINT)


def test_ctrl_c_saves_the_videos_finished_before_it(course, settings) -> None:
    folder, ids = course
    # No save is due before the interrupt (every 100 videos): only the interrupt handling can keep the three done.
    runner = SyncRunner(settings, progress=InterruptAt("indexed", 4), transcribe_media=False, save_every_videos=100)
    with pytest.raises(KeyboardInterrupt):
        runner.ingest([folder])
    assert runner.saves.saved_videos == 3
    assert set(_indexed(settings.data_dir)) == set(ids[:3])
    assert {video for _, video in _store(settings.data_dir).values()} >= set(ids[:3])
    _assert_marked_only_after_saved(settings.data_dir)


class RaisesForSomeVideos(Progress):
    """A caller's hook that blows up for two videos, in and outside the stages."""

    def video_started(self, ref) -> None:
        if ref.video_id == "lecture001":
            raise RecursionError("maximum recursion depth exceeded while reading a malformed file")

    def stage(self, ref, stage: str) -> None:
        if ref.video_id == "lecture003" and stage == "cleaned":
            raise MemoryError("cannot allocate the sentence table")


def test_whatever_one_video_raises_the_run_goes_on_and_keeps_finished_work(course, settings) -> None:
    folder, ids = course
    runner = SyncRunner(settings, progress=RaisesForSomeVideos(), transcribe_media=False, save_every_videos=2, save_every_seconds=86400.0)
    report = runner.ingest([folder])
    status = {result.video_id: result for result in report.results}
    assert status["lecture001"].status == "failed" and "RecursionError" in status["lecture001"].reason
    assert status["lecture003"].status == "failed" and "MemoryError" in status["lecture003"].reason
    assert {video for video, result in status.items() if result.status == "indexed"} == set(ids) - {"lecture001", "lecture003"}
    assert set(_indexed(settings.data_dir)) == set(ids) - {"lecture001", "lecture003"}
    _assert_marked_only_after_saved(settings.data_dir)


def test_disk_full_mid_run_keeps_what_was_saved_and_the_old_file(course, settings) -> None:
    folder, ids = course
    saves = {"count": 0}

    def disk_full_after_the_first_save(step: str, path: Path) -> None:
        if step == "temp-written":
            saves["count"] += 1
            if saves["count"] > 1:
                raise OSError(errno.ENOSPC, "No space left on device", str(path))

    runner = SyncRunner(settings, transcribe_media=False, save_every_videos=2, save_every_seconds=86400.0)
    PersistentInMemoryDocumentStore.save_hook = disk_full_after_the_first_save
    try:
        with pytest.raises(StoreWriteError, match="no space left on device"):
            runner.ingest([folder])
    finally:
        PersistentInMemoryDocumentStore.save_hook = None
    store_dir = settings.store_dir
    assert not list(store_dir.glob(f"{TEMP_PREFIX}*"))
    assert set(_indexed(settings.data_dir)) == set(ids[:2])  # the first save's videos
    assert {video for _, video in _store(settings.data_dir).values()} == set(ids[:2])
    _assert_marked_only_after_saved(settings.data_dir)
    # Space is back: the same ingest finishes the rest, with the transcripts already cleaned kept.
    report = SyncRunner(settings, transcribe_media=False).ingest([folder])
    assert report.count("failed") == 0
    assert set(_indexed(settings.data_dir)) == set(ids)
    assert (store_dir / STORE_FILE).is_file()
