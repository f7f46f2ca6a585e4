"""`ingest` is a sync of a one-shot local source: one ledger shared with `sync`, `status` and `remove-source`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.cli.main import main
from tests.pipelines.stores.test_indexing import srt_course

LECTURES = {
    "attention": "Attention lets every token look at every other token. The softmax turns the scores into weights.",
    "residuals": "Residual connections keep gradients flowing. Deep networks train because of them.",
    "tokenizers": "Byte pair encoding merges frequent pairs of symbols. The vocabulary grows one merge at a time.",
}


@pytest.fixture
def course(tmp_path: Path) -> Path:
    return srt_course(tmp_path / "course", LECTURES)


def _status(capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["status"]) == 0
    return capsys.readouterr().out


def test_ingest_records_every_stage_in_the_ledger_that_sync_then_trusts(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(course), "--no-progress"]) == 0
    assert "3 added" in capsys.readouterr().out
    status = _status(capsys)
    assert "ledger:" in status and "— 3 video(s)" in status
    assert f"local {course.resolve()} (ingested by hand; not polled)" in status
    for stage in ("listed", "transcript", "cleaned", "summarized", "indexed"):
        assert f"  {stage:<11} done 3" in status

    # A folder ingested by hand is not a sync source until it is added as one; then sync finds nothing to redo.
    assert main(["sync", "--once", "--no-progress"]) == 1
    assert "no sources yet" in capsys.readouterr().err
    assert main(["add-source", str(course)]) == 0
    assert "added local source" in capsys.readouterr().out
    assert "(ingested by hand; not polled)" not in _status(capsys)
    assert main(["sync", "--once", "--no-progress"]) == 0
    assert "sync: 3 listed (0 new or changed); 0 indexed, 3 unchanged, 0 failed, 0 waiting" in capsys.readouterr().out


def test_reingesting_a_folder_removes_the_videos_whose_files_are_gone(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ingest", str(course), "--no-progress"]) == 0
    capsys.readouterr()
    (course / "residuals.srt").unlink()
    assert main(["ingest", str(course), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "removed: residuals (its files are gone)" in out
    assert "ingested 2 video(s)" in out and "0 added, 0 updated, 2 unchanged, 0 failed" in out
    status = _status(capsys)
    assert "videos:     2 " in status and "— 2 video(s)" in status
    assert main(["ask", "--json", "Why do residual connections help deep networks train?"]) == 0
    cited = {c["video_id"] for c in json.loads(capsys.readouterr().out)["citations"]}
    assert "residuals" not in cited

    # The whole folder gone: that is an error, not a reason to empty the index.
    shutil.rmtree(course)
    assert main(["ingest", str(course), "--no-progress"]) == 2
    assert f"course-ta ingest: {course}: no such file or folder" in capsys.readouterr().err
    assert "videos:     2 " in _status(capsys)

    # Dropping the source on purpose removes its videos from the index and the ledger.
    assert main(["remove-source", str(course)]) == 0
    assert "2 video(s) removed from the index" in capsys.readouterr().out
    status = _status(capsys)
    assert "videos:     0 " in status and "— 0 video(s)" in status
    assert main(["remove-source", str(course)]) == 1
    assert "no source" in capsys.readouterr().err


def test_media_without_a_transcript_is_reported_not_transcribed(course: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (course / "lecture4.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42")
    assert main(["ingest", str(course), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "failed: lecture4.mp4: media without a transcript file" in captured.err
    assert "3 added, 0 updated, 0 unchanged, 1 failed" in captured.out
    assert "— 3 video(s)" in _status(capsys)
