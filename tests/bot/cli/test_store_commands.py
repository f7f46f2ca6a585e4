"""The CLI around the index's safety: damaged index (status, ask, ingest, --rebuild), remove, bad paths,
a full disk, and two ingests at once."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import main
from pipelines.settings import load_settings
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from pipelines.stores.store_file import STORE_FILE, TEMP_PREFIX
from tests.pipelines.stores.test_indexing import srt_course

REPO = Path(__file__).resolve().parents[3]
LECTURES = {
    "attention": "Attention lets every token look at every other token. The softmax turns the scores into weights.",
    "residuals": "Residual connections keep gradients flowing. Deep networks train because of them.",
    "tokenizers": "Byte pair encoding merges frequent pairs of symbols. The vocabulary grows one merge at a time.",
}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return srt_course(tmp_path / "course", LECTURES)


def _index(tmp_path: Path) -> Path:
    return tmp_path / "data" / "store" / STORE_FILE


def _damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 3])
    elif how == "zero-length":
        path.write_bytes(b"")
    else:
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0xFF
        path.write_bytes(bytes(flipped))


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("how", ["truncated", "zero-length", "byte-flipped"])
def test_a_damaged_index_is_one_line_everywhere_and_rebuild_repairs_it(
    how: str, course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(course), "--no-progress"]) == 0
    _damage(_index(tmp_path), how)
    capsys.readouterr()
    for command in (["status"], ["ask", "What do residual connections do?"], ["ingest", str(course), "--no-progress"]):
        assert main(command) == 2, command
        line = _one_line_error(capsys)
        assert "is damaged" in line and "course-ta ingest --rebuild" in line and "allow_pickle" not in line

    from bot.doctor import local, run_checks

    check = local.check_index(load_settings())
    assert check.blocking and "damaged" in check.detail and "course-ta ingest --rebuild" in check.fix
    assert any(result.name == "index" and result.blocking for result in run_checks(load_settings(), load_models=False))

    assert main(["ingest", "--rebuild", "--no-progress"]) == 0
    assert "rebuilt the index from 3 video(s)" in capsys.readouterr().out
    assert local.check_index(load_settings()).status == "ok"
    assert main(["status"]) == 0
    assert "videos:     3 " in capsys.readouterr().out
    assert main(["ask", "--json", "What do residual connections do?"]) == 0
    assert json.loads(capsys.readouterr().out)["citations"][0]["video_id"] == "residuals"


def test_rebuild_works_when_the_source_files_are_gone(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(course), "--no-progress"]) == 0
    for path in course.iterdir():
        path.unlink()
    _damage(_index(tmp_path), "truncated")
    assert main(["ingest", "--rebuild", "--no-progress"]) == 0
    assert "3 added" in capsys.readouterr().out  # from the transcripts the data dir keeps


def test_remove_takes_videos_out_of_the_index_ledger_and_data_dir(course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(course), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["remove", "residuals", "nosuchvideo"]) == 2
    assert "unknown video id(s): nosuchvideo" in _one_line_error(capsys)
    assert main(["status"]) == 0 and "videos:     3 " in capsys.readouterr().out  # nothing removed on a typo

    assert main(["remove", "residuals"]) == 0
    assert "removed: residuals" in capsys.readouterr().out
    stored = {d.meta["video_id"] for d in PersistentInMemoryDocumentStore(tmp_path / "data" / "store").filter_documents()}
    assert stored == {"attention", "tokenizers"}
    assert not list((tmp_path / "data").glob("*/residuals.json"))
    assert main(["status"]) == 0
    status = capsys.readouterr().out
    assert "videos:     2 " in status and "— 2 video(s)" in status


def test_ingest_of_a_missing_path_or_an_empty_folder_says_why(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(tmp_path / "nonexistent"), "--no-progress"]) == 2
    line = _one_line_error(capsys)
    assert "nonexistent: no such file or folder" in line and "ingested" not in line
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["ingest", str(empty), "--no-progress"]) == 1
    line = _one_line_error(capsys)
    assert f"no transcripts or media in {empty}" in line and ".srt" in line and ".mp4" in line


def test_a_full_disk_during_ingest_is_one_line_and_keeps_the_old_index(
    course: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(course), "--no-progress"]) == 0
    before = _index(tmp_path).read_bytes()
    (course / "attention.srt").write_text((course / "attention.srt").read_text().replace("softmax", "sigmoid"))
    capsys.readouterr()

    def disk_full(step: str, path: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    PersistentInMemoryDocumentStore.save_hook = disk_full
    try:
        assert main(["ingest", str(course), "--no-progress"]) == 2
    finally:
        PersistentInMemoryDocumentStore.save_hook = None
    line = _one_line_error(capsys)
    assert "no space left on device" in line and "previous index is intact" in line
    assert _index(tmp_path).read_bytes() == before
    assert not list(_index(tmp_path).parent.glob(f"{TEMP_PREFIX}*"))
    assert main(["ingest", str(course), "--no-progress"]) == 0
    assert "1 updated" in capsys.readouterr().out


@pytest.mark.timeout(600)
def test_two_ingests_at_once_keep_both_courses(tmp_path: Path) -> None:
    first = srt_course(tmp_path / "first", {f"a{n}": f"Lecture a{n} explains gradient descent step {n}." for n in range(5)})
    second = srt_course(tmp_path / "second", {f"b{n}": f"Lecture b{n} explains attention head {n}." for n in range(5)})
    env = {**os.environ, "COURSE_TA_DATA_DIR": str(tmp_path / "data"), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot.cli.main", "ingest", str(folder), "--no-progress"],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for folder in (first, second)
    ]
    for run in runs:
        out, _ = run.communicate(timeout=500)
        assert run.returncode == 0 and "5 added" in out.decode(), out.decode()
    stored = {d.meta["video_id"] for d in PersistentInMemoryDocumentStore(tmp_path / "data" / "store").filter_documents()}
    assert stored == {f"a{n}" for n in range(5)} | {f"b{n}" for n in range(5)}


def test_a_running_answer_service_answers_from_videos_ingested_after_it_started(course: Path, tmp_path: Path) -> None:
    from bot.answering.service import AnswerService

    service = AnswerService(load_settings())  # what `serve` holds: started before anything was indexed
    assert not service.answer("What do residual connections do?").citations
    assert main(["ingest", str(course), "--no-progress"]) == 0  # another command saves the index
    assert service.answer("What do residual connections do?").citations[0].video_id == "residuals"
