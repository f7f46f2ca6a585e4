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


def test_add_writes_a_validated_course_and_refuses_duplicates(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "lectures").mkdir()
    assert main(["course", "add", "nlp", "--title", "NLP", "--slack-channel", "C0NLP", "--source", str(tmp_path / "lectures")]) == 0
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
    from bot.cli.schedule import _scheduled_courses
    from pipelines.settings import load_settings

    main(["course", "add", "nlp", "--title", "NLP"])
    main(["course", "add", "vision", "--title", "Vision"])
    main(["course", "add", "art", "--title", "Art"])
    main(["course", "pause", "art"])
    scheduled = _scheduled_courses(load_settings(deployment=True))
    assert [s.data_dir for _, s in scheduled] == [data_dir() / "courses" / "nlp", data_dir() / "courses" / "vision"]
    one = _scheduled_courses(load_settings(deployment=True, course="vision"))
    assert [s.ledger_path for _, s in one] == [data_dir() / "courses" / "vision" / "ledger.sqlite"]


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


def test_privacy_forget_also_drops_the_course_remembered_for_a_students_direct_messages(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.courses.catalog import load_catalog
    from pipelines.courses.routing import ROUTES_FILE, CourseRouter
    from pipelines.settings import load_settings

    main(["course", "add", "nlp", "--title", "NLP", "--slack-channel", "C0NLP00001"])
    main(["course", "add", "vision", "--title", "Vision"])
    base = load_settings(deployment=True)
    router = CourseRouter(load_catalog(base.courses_path), base.data_dir / ROUTES_FILE)
    router.slack("U0123ABCD", "C0NLP00001", "what is attention?")  # asked in the nlp channel: remembered for their DMs
    router.discord("4242", None, None, "what is attention?", explicit="vision")
    assert router.recall("slack:U0123ABCD") == "nlp" and router.recall("discord:4242") == "vision"
    capsys.readouterr()
    assert main(["privacy", "forget", "U0123ABCD"]) == 0
    assert "1 remembered courses" in capsys.readouterr().out
    assert main(["privacy", "forget", "4242"]) == 0
    assert router.recall("slack:U0123ABCD") is None and router.recall("discord:4242") is None


REVIEWED = """\
# Courses of the CS department; reviewed by the teaching committee.

[[course]]
id = "nlp"            # renamed from cs224 in 2026
title = "NLP"

# Tuned after the midterm.
[course.policy]
questions_per_minute = 30   # the TA office asked for this
llm_daily_tokens = 200000

[[course]]
id = "vision"
title = "Vision"
"""


def test_course_commands_keep_the_reviewed_file_comments_and_untouched_courses() -> None:
    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(REVIEWED, encoding="utf-8")
    assert main(["course", "pause", "nlp"]) == 0
    paused = REVIEWED.replace('title = "NLP"\n', 'title = "NLP"\npaused = true\n')
    assert path.read_text(encoding="utf-8") == paused
    assert main(["course", "add", "art", "--title", "Art", "--slack-channel", "C0ART0001"]) == 0
    assert path.read_text(encoding="utf-8") == paused + '\n[[course]]\nid = "art"\ntitle = "Art"\nslack_channels = ["C0ART0001"]\n'
    assert main(["course", "resume", "nlp"]) == 0
    assert path.read_text(encoding="utf-8").startswith(REVIEWED.replace('title = "NLP"\n', 'title = "NLP"\npaused = false\n'))


def test_add_with_a_bad_id_is_one_clean_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["course", "add", "Bad Id", "--title", "x", "--slack-channel", "general"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("course-ta: course 'Bad Id': id: 'Bad Id' is not a course id")
    assert "slack_channels: 'general' is not a Slack channel id" in err
    assert "pydantic" not in err and "validation error" not in err and "type=" not in err
    assert not (data_dir() / "courses.toml").exists()


def test_an_oversized_courses_file_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[[course]]\nid = "nlp"\ntitle = "NLP"\n' + ("# " + "x" * 1000 + "\n") * 1100, encoding="utf-8")
    for command in (["course", "list"], ["status"], ["course", "pause", "nlp"]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and str(path) in err and "1 MiB" in err, err
    assert path.read_text(encoding="utf-8").count("paused") == 0


def test_ask_refuses_a_paused_course_as_the_bots_do(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.courses.limits import CourseLimits

    main(["course", "add", "nlp", "--title", "NLP with Transformers"])
    main(["course", "add", "vision", "--title", "Vision"])
    main(["course", "pause", "nlp"])
    bots_say = CourseLimits(data_dir() / "unused.sqlite").refusal(load_catalog(data_dir() / "courses.toml").get("nlp"))
    assert bots_say
    capsys.readouterr()
    assert main(["ask", "--course", "nlp", "what is attention?"]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"course-ta ask: {bots_say}\n" and captured.out == ""
    assert main(["--course", "nlp", "ask", "--json", "what is attention?"]) == 2
    assert capsys.readouterr().err == f"course-ta ask: {bots_say}\n"
    assert main(["ask", "--course", "nlp", "--batch", "-"]) == 2
    assert "is paused by the course team" in capsys.readouterr().err


def test_ask_answers_again_once_the_course_is_resumed(capsys: pytest.CaptureFixture[str]) -> None:
    main(["course", "add", "nlp", "--title", "NLP"])
    main(["course", "pause", "nlp"])
    assert main(["ask", "what is attention?"]) == 2  # the only course: no --course needed
    assert "paused" in capsys.readouterr().err
    main(["course", "resume", "nlp"])
    main(["ask", "what is attention?"])
    assert "paused" not in capsys.readouterr().err  # past the pause: the empty index is what it reports now


def test_status_shows_pause_limits_and_todays_spend(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.courses.limits import CourseLimits, utc_day

    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(REVIEWED, encoding="utf-8")
    main(["course", "pause", "nlp"])
    CourseLimits.of_deployment(data_dir()).spend("nlp", 1234)
    CourseLimits.of_deployment(data_dir()).spend("vision", 99)
    capsys.readouterr()
    assert main(["status", "--course", "nlp"]) == 0
    out = capsys.readouterr().out
    assert "course:     nlp (NLP): paused" in out
    assert f"limits:     30 questions a minute; LLM budget 200,000 tokens a day, 1,234 spent today ({utc_day()} UTC)" in out
    assert main(["status", "--course", "vision"]) == 0
    out = capsys.readouterr().out
    assert "course:     vision (Vision): answering" in out
    assert f"limits:     no question rate limit; no LLM budget, 99 tokens spent today ({utc_day()} UTC)" in out


def test_status_without_a_courses_file_has_no_course_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "data dir:" in out and "course:" not in out and "limits:" not in out


def test_parallel_adds_and_pauses_all_land(capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    main(["course", "add", "base", "--title", "Base"])
    codes: list[int] = []
    commands = [["course", "add", f"c{n}", "--title", f"Course {n}"] for n in range(6)] + [["course", "pause", "base"]]
    threads = [threading.Thread(target=lambda c=command: codes.append(main(c))) for command in commands]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert codes == [0] * len(commands)
    catalog = load_catalog(data_dir() / "courses.toml")
    assert sorted(catalog.ids()) == ["base", "c0", "c1", "c2", "c3", "c4", "c5"]
    assert catalog.get("base").paused


def test_an_add_waits_for_the_edit_lock_and_keeps_the_edit_made_meanwhile(capsys: pytest.CaptureFixture[str]) -> None:
    import threading

    from pipelines.courses.toml_edit import edit_lock

    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[[course]]\nid = "nlp"\ntitle = "NLP"\n', encoding="utf-8")
    codes: list[int] = []
    with edit_lock(path):
        adder = threading.Thread(target=lambda: codes.append(main(["course", "add", "art", "--title", "Art"])))
        adder.start()
        adder.join(timeout=3)
        assert adder.is_alive() and codes == []  # it waits for the lock rather than writing what it read
        with path.open("a", encoding="utf-8") as stream:  # another editor's change, made while holding the lock
            stream.write('\n[[course]]\nid = "vision"\ntitle = "Vision"\n')
    adder.join(timeout=60)
    assert codes == [0]
    assert load_catalog(path).ids() == ["nlp", "vision", "art"]


def test_an_add_that_would_pass_the_size_cap_is_refused_and_writes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.courses.catalog import MAX_COURSES_FILE_BYTES

    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = '[[course]]\nid = "nlp"\ntitle = "NLP"\n'
    original = body + "#" * (MAX_COURSES_FILE_BYTES - len(body) - 20) + "\n"
    path.write_text(original, encoding="utf-8")
    assert main(["course", "add", "art", "--title", "Art History"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and f"{MAX_COURSES_FILE_BYTES:,} bytes" in err, err
    assert path.read_text(encoding="utf-8") == original
    assert main(["course", "list"]) == 0  # the file still loads: every command keeps working


def test_the_size_refusal_gives_exact_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('[[course]]\nid = "nlp"\ntitle = "NLP"\n' + "#" * (1 << 20) + "\n", encoding="utf-8")
    assert main(["course", "list"]) == 2
    err = capsys.readouterr().err
    assert f"{path.stat().st_size:,} bytes" in err and "1,048,576 bytes" in err and "1.0 MiB" not in err, err


def test_a_symlinked_courses_file_stays_a_link(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    real = data_dir() / "reviewed" / "real.toml"
    real.parent.mkdir(parents=True)
    real.write_text('[[course]]\nid = "nlp"\ntitle = "NLP"\n', encoding="utf-8")
    link = data_dir() / "link.toml"
    link.symlink_to(real)
    monkeypatch.setenv("COURSE_TA_COURSES_FILE", str(link))
    assert main(["course", "pause", "nlp"]) == 0
    assert main(["course", "add", "art", "--title", "Art"]) == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    assert load_catalog(real).ids() == ["nlp", "art"] and load_catalog(real).get("nlp").paused
    assert sorted(p.name for p in real.parent.iterdir() if not p.name.endswith(".lock")) == ["real.toml"]


@pytest.mark.parametrize(
    ("source", "secret"),
    [
        ("https://user:s3cret@www.youtube.com/@course", "s3cret"),
        ("https://user:s3cret@host.example/x", "s3cret"),
        ("user:s3cret@www.youtube.com/@course", "s3cret"),
        ("file:///etc/passwd", None),
        ("https://example.com/lectures", None),
    ],
)
def test_add_refuses_sources_that_add_source_refuses_without_echoing_passwords(
    capsys: pytest.CaptureFixture[str], source: str, secret: str | None
) -> None:
    assert main(["add-source", source]) == 2  # what add-source says of it
    capsys.readouterr()
    assert main(["course", "add", "nlp", "--title", "NLP", "--source", source]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("course-ta: ") and captured.err.count("\n") == 1, captured.err
    if secret:
        assert secret not in captured.err + captured.out
    assert not (data_dir() / "courses.toml").exists()


def test_add_records_a_source_the_way_add_source_does(tmp_path: Path) -> None:
    folder = tmp_path / "lectures"
    folder.mkdir()
    url = "https://www.youtube.com/@course"
    assert main(["course", "add", "nlp", "--title", "NLP", "--source", url, "--source", str(folder), "--source", url]) == 0
    assert load_catalog(data_dir() / "courses.toml").get("nlp").sources == [url, str(folder.resolve())]


def test_list_shows_the_ta_channels(capsys: pytest.CaptureFixture[str]) -> None:
    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[[course]]\nid = "nlp"\ntitle = "NLP"\nslack_channels = ["C0NLP0001"]\nta_slack_channel = "C0TA00001"\n'
        'ta_discord_channel = "333333333333333333"\n',
        encoding="utf-8",
    )
    assert main(["course", "list"]) == 0
    assert "TA:       Slack C0TA00001, Discord 333333333333333333" in capsys.readouterr().out


def test_a_ta_channel_that_students_read_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '[[course]]\nid = "nlp"\ntitle = "NLP"\nslack_channels = ["C0NLP0001"]\n'
        '[[course]]\nid = "vision"\ntitle = "Vision"\nta_slack_channel = "C0NLP0001"\n',
        encoding="utf-8",
    )
    assert main(["course", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and "'vision'" in err and "ta_slack_channel" in err, err


@pytest.mark.parametrize("text", ["", "\n\n", "# Courses of the CS department.\n# One table per course.\n"])
def test_add_starts_an_empty_or_comment_only_file(text: str) -> None:
    path = data_dir() / "courses.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    assert main(["course", "add", "nlp", "--title", "NLP"]) == 0
    written = path.read_text(encoding="utf-8")
    assert written.startswith(text) and load_catalog(path).ids() == ["nlp"]


def test_list_and_pause_with_a_named_missing_file_fail_like_status(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = data_dir() / "typo" / "courses.toml"
    monkeypatch.setenv("COURSE_TA_COURSES_FILE", str(missing))
    for command in (["course", "list"], ["course", "pause", "nlp"]):
        assert main(command) == 2, command
        err = capsys.readouterr().err
        assert "does not exist" in err and err.count("\n") == 1, err
    assert not missing.parent.exists()


@pytest.mark.parametrize("title", ["line one\nline two", "   ", "tab\there", "a\u2028b"])
def test_add_refuses_a_title_that_is_not_one_line_of_text(capsys: pytest.CaptureFixture[str], title: str) -> None:
    assert main(["course", "add", "nlp", "--title", title]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "title" in err, err
    assert not (data_dir() / "courses.toml").exists()


def test_a_channel_given_twice_is_stored_once() -> None:
    twice = ["--slack-channel", "C0NLP0001"] * 2 + ["--discord-channel", "111111111111111111"] * 2
    assert main(["course", "add", "nlp", "--title", "NLP", *twice]) == 0
    table = tomllib.loads((data_dir() / "courses.toml").read_text(encoding="utf-8"))["course"][0]
    assert table["slack_channels"] == ["C0NLP0001"] and table["discord_channels"] == ["111111111111111111"]


def test_a_courses_file_that_cannot_be_written_is_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a-file").write_text("not a folder\n")
    monkeypatch.setenv("COURSE_TA_COURSES_FILE", str(tmp_path / "a-file" / "courses.toml"))
    assert main(["course", "add", "nlp", "--title", "NLP"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "courses.toml" in err and "Traceback" not in err
    assert (tmp_path / "a-file").read_text() == "not a folder\n"
