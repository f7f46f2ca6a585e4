"""``course-ta course`` edits the courses file; ``--course`` points every command at one course's data."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bot.cli.main import main
from pipelines.courses.catalog import load_catalog


def data_dir() -> Path:
    import os

    return Path(os.environ["COURSE_TA_DATA_DIR"])


def test_add_writes_a_validated_course_and_refuses_duplicates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["course", "add", "nlp", "--title", "NLP", "--slack-channel", "C0NLP", "--source", "/lectures/nlp"]) == 0
    assert main(["course", "add", "vision", "--title", "Vision", "--discord-guild", "222222222222222222"]) == 0
    catalog = load_catalog(data_dir() / "courses.toml")
    assert catalog.ids() == ["nlp", "vision"]
    assert tomllib.loads((data_dir() / "courses.toml").read_text())["course"][0]["slack_channels"] == ["C0NLP"]
    capsys.readouterr()
    assert main(["course", "add", "nlp", "--title", "Again"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["course", "add", "art", "--title", "Art", "--slack-channel", "C0NLP"]) == 2
    assert "C0NLP is in both course 'nlp' and 'art'" in capsys.readouterr().err
    assert main(["course", "add", "Bad Id", "--title", "x"]) == 2
    assert load_catalog(data_dir() / "courses.toml").ids() == ["nlp", "vision"]  # nothing written on a refusal


def test_pause_and_resume_touch_only_that_course(capsys: pytest.CaptureFixture[str]) -> None:
    main(["course", "add", "nlp", "--title", "NLP"])
    main(["course", "add", "vision", "--title", "Vision"])
    assert main(["course", "pause", "nlp"]) == 0
    catalog = load_catalog(data_dir() / "courses.toml")
    assert catalog.get("nlp").paused and not catalog.get("vision").paused
    assert main(["course", "resume", "nlp"]) == 0
    assert not load_catalog(data_dir() / "courses.toml").get("nlp").paused
    main(["course", "list"])
    out = capsys.readouterr().out
    assert "nlp" in out and str(data_dir() / "courses" / "nlp") in out


def test_commands_need_a_course_when_there_are_several(capsys: pytest.CaptureFixture[str]) -> None:
    main(["course", "add", "nlp", "--title", "NLP"])
    main(["course", "add", "vision", "--title", "Vision"])
    capsys.readouterr()
    assert main(["status"]) == 2
    assert "choose one with --course" in capsys.readouterr().err
    assert main(["status", "--course", "vision"]) == 0
    assert str(data_dir() / "courses" / "vision") in capsys.readouterr().out
    assert main(["--course", "nlp", "status"]) == 0
    assert str(data_dir() / "courses" / "nlp") in capsys.readouterr().out
    assert main(["status", "--course", "history"]) == 2
    assert "unknown course 'history'" in capsys.readouterr().err


def test_schedule_runs_one_scheduler_per_active_course() -> None:
    from bot.cli.schedule import _course_settings
    from pipelines.settings import load_settings

    main(["course", "add", "nlp", "--title", "NLP"])
    main(["course", "add", "vision", "--title", "Vision"])
    main(["course", "add", "art", "--title", "Art"])
    main(["course", "pause", "art"])
    scheduled = _course_settings(load_settings(deployment=True))
    assert [s.data_dir for s in scheduled] == [data_dir() / "courses" / "nlp", data_dir() / "courses" / "vision"]
    one = _course_settings(load_settings(deployment=True, course="vision"))
    assert [s.ledger_path for s in one] == [data_dir() / "courses" / "vision" / "ledger.sqlite"]


def test_a_courses_file_that_is_named_must_exist(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COURSE_TA_COURSES_FILE", str(data_dir() / "typo" / "courses.toml"))
    assert main(["status"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_privacy_and_exports_reach_the_deployment_answer_log_with_several_courses(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.answering.feedback import AnswerLog
    from pipelines.domain import Answer
    from pipelines.settings import load_settings

    main(["course", "add", "nlp", "--title", "NLP"])
    main(["course", "add", "vision", "--title", "Vision"])
    log = AnswerLog(load_settings(deployment=True).feedback_db_path)  # where the bots of the deployment write
    for n in range(3):
        log.record_answer("slack", "C0NLP", f"17000000{n}.0001", "U0123ABCD", Answer(f"question {n}", "text", True), course="nlp")
    capsys.readouterr()
    assert main(["privacy", "forget", "U0123ABCD"]) == 0
    assert "3 answers" in capsys.readouterr().out
    import sqlite3

    with sqlite3.connect(load_settings(deployment=True).feedback_db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM answers WHERE user = 'U0123ABCD'").fetchone() == (0,)
