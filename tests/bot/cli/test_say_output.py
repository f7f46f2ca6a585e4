"""`course-ta say -o PATH`: an output that cannot be written is refused before any synthesis, and
``--json`` prints exactly one object, with the same keys whether the clip was written or not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.main import main

KEYS = {"ok", "error", "backend", "voice", "duration_s", "cached", "truncated", "spoken_text", "output", "attempts"}


def _clip_cache_files(data_dir: Path) -> list[Path]:
    return [p for p in data_dir.rglob("*") if p.is_file() and p.suffix in (".ogg", ".mp3")] if data_dir.exists() else []


@pytest.mark.parametrize("where", ["under_a_file", "a_folder"])
def test_an_unwritable_output_is_refused_before_synthesis(where: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    output = blocker / "clip.ogg" if where == "under_a_file" else tmp_path / "clip.ogg"
    if where == "a_folder":
        output.mkdir()
    assert main(["say", "Attention lets every token look at every other token.", "-o", str(output), "--backends", "piper"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.startswith(f"course-ta say: cannot write {output}") and len(err.strip().splitlines()) == 1
    assert _clip_cache_files(tmp_path / "data") == []  # nothing was synthesised (or cached) for a clip that could not be kept

    assert main(["say", "Hello.", "-o", str(output), "--backends", "piper", "--json"]) == 2
    out, _ = capsys.readouterr()
    (line,) = out.splitlines()  # one object, never an "ok" one first
    report = json.loads(line)
    assert set(report) == KEYS and report["ok"] is False and report["output"] is None
    assert report["error"].startswith(f"cannot write {output}")


def test_json_has_the_same_keys_on_success_and_on_a_bad_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["say", "Hello.", "-o", str(tmp_path / "clip.wav"), "--json"]) == 2
    bad = json.loads(capsys.readouterr().out)
    assert set(bad) == KEYS and bad["ok"] is False and ".ogg" in bad["error"]
    output = tmp_path / "new" / "folder" / "clip.ogg"
    assert main(["say", "Hello.", "-o", str(output), "--backends", "piper", "--json"]) == 0
    good = json.loads(capsys.readouterr().out)
    assert set(good) == KEYS and good["ok"] is True and good["output"] == str(output) and output.stat().st_size > 0
    assert _clip_cache_files(tmp_path / "data")  # a real synthesis leaves its clip in the cache (what the test above looks for)
