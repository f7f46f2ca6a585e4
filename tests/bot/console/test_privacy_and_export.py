"""Retention and ``privacy forget`` delete what they claim (read back from the SQLite file itself); exports are spreadsheet-safe."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time

from bot.answering.escalations import EscalationLog
from bot.answering.feedback import AnswerLog, export_votes, spreadsheet_safe
from bot.answering.privacy import Pseudonyms, apply_retention, forget_student
from bot.cli.main import main
from tests.bot.console.console_seed import FORMULA_QUESTION, OTHER_STUDENT, STUDENT, answer, seed


def _raw(path) -> bytes:
    """The database file and its WAL, as bytes: deleted text must not linger in either."""
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_forget_removes_one_student_everywhere(tmp_path, capsys, monkeypatch):
    seed(tmp_path)
    db = tmp_path / "feedback.sqlite"
    assert STUDENT.encode() in _raw(db)
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path))
    assert main(["privacy", "forget", STUDENT]) == 0
    assert "forgot U0STUDENT1" in capsys.readouterr().out
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM answers WHERE user = ?", (STUDENT,)).fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM votes WHERE user = ?", (STUDENT,)).fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM escalations WHERE user = ?", (STUDENT,)).fetchone()[0] == 0
        assert connection.execute("SELECT count(*) FROM answers WHERE user = ?", (OTHER_STUDENT,)).fetchone()[0] > 0
    raw = _raw(db)
    assert b"Can a TA explain the exam policy?" not in raw and b"What is retrieval-augmented generation?" not in raw
    assert b"How do I install CUDA drivers" in raw  # the other student's questions stay


def test_forget_by_pseudonym(tmp_path):
    seed(tmp_path)
    pseudonyms = Pseudonyms(tmp_path)
    removed = forget_student(tmp_path / "feedback.sqlite", pseudonyms, pseudonyms(OTHER_STUDENT))
    assert removed.counts["answers"] == 12 and removed.counts["votes"] == 1


def test_retention_blanks_old_texts_and_pseudonymizes(tmp_path):
    log = AnswerLog(tmp_path / "feedback.sqlite")
    old = log.record_answer("slack", "C0COURSE01", "1.0", STUDENT, answer("An old secret question about grades", "v1", "T", 1.0))
    log.record_vote(old, STUDENT, -1, comment="old comment text")
    EscalationLog(log.path).open("slack", "C0COURSE01", "1.0", STUDENT, "An old secret question about grades", "no", answer_id=old)
    with sqlite3.connect(log.path) as connection:
        connection.execute("UPDATE answers SET created_at = ?", (time.time() - 400 * 86_400,))
        connection.execute("UPDATE escalations SET created_at = ?", (time.time() - 400 * 86_400,))
    fresh = log.record_answer("slack", "C0COURSE01", "2.0", STUDENT, answer("A new question about tokenizers", "v1", "T", 1.0))
    pseudonyms = Pseudonyms(tmp_path)
    removed = apply_retention(log.path, pseudonyms, days=180)
    assert removed.counts == {"votes": 1, "answers": 1, "escalations": 1}
    with sqlite3.connect(log.path) as connection:
        assert connection.execute("SELECT question, answer, user FROM answers WHERE id = ?", (old,)).fetchone() == (
            "",
            "",
            pseudonyms(STUDENT),
        )
        assert connection.execute("SELECT vote, comment FROM votes").fetchone() == (-1, None)  # the vote still counts
        assert connection.execute("SELECT question FROM answers WHERE id = ?", (fresh,)).fetchone()[0] == "A new question about tokenizers"
        assert connection.execute("SELECT question, user FROM escalations").fetchone() == ("", pseudonyms(STUDENT))
    raw = _raw(log.path)
    assert b"An old secret question" not in raw and b"old comment text" not in raw
    assert apply_retention(log.path, pseudonyms, days=180).total == 0  # nothing left to do
    assert apply_retention(log.path, pseudonyms, days=0).total == 0


def test_pseudonyms_are_stable_and_keyed(tmp_path):
    first, again, other = Pseudonyms(tmp_path), Pseudonyms(tmp_path), Pseudonyms(tmp_path / "elsewhere")
    assert first(STUDENT) == again(STUDENT) != other(STUDENT)
    assert first(STUDENT).startswith("s-") and STUDENT not in first(STUDENT)
    assert (tmp_path / "privacy.key").stat().st_mode & 0o077 == 0


def test_feedback_export_csv_neutralises_formula_injection(tmp_path, monkeypatch, capsys):
    log = AnswerLog(tmp_path / "feedback.sqlite")
    answer_id = log.record_answer("slack", "C0COURSE01", "1.0", STUDENT, answer(FORMULA_QUESTION))
    log.record_vote(answer_id, STUDENT, -1)
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path))
    assert main(["feedback", "export", "--format", "csv"]) == 0
    (row,) = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["question"] == "'" + FORMULA_QUESTION  # a spreadsheet shows it as text
    assert row["vote"] == "-1"  # numbers stay numbers
    assert row["voter"].startswith("s-") and row["asker"] == row["voter"]
    assert main(["feedback", "export"]) == 0
    assert json.loads(capsys.readouterr().out)["question"] == FORMULA_QUESTION  # JSON keeps the text as typed
    rows = list(csv.DictReader(io.StringIO(export_votes(log.votes(), "csv"))))
    assert rows[0]["voter"] == STUDENT  # without a pseudonymizer the ids are as logged


def test_spreadsheet_safe_prefixes_every_formula_start():
    for text in ("=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", " =1", "\uff1dcmd"):
        assert spreadsheet_safe(text).startswith("'"), text
    assert spreadsheet_safe("what is RAG?") == "what is RAG?"
    assert spreadsheet_safe(-1) == -1


def test_an_answer_log_from_before_latency_gains_the_column(tmp_path):
    path = tmp_path / "feedback.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE answers (id TEXT PRIMARY KEY, platform TEXT NOT NULL, channel TEXT NOT NULL, thread TEXT NOT NULL, message TEXT,"
            " user TEXT, question TEXT NOT NULL, answer TEXT NOT NULL, grounded INTEGER NOT NULL, citations TEXT NOT NULL, store TEXT,"
            " answerer TEXT, created_at REAL NOT NULL)"
        )
    log = AnswerLog(path)
    asked = time.time() - 2.5
    first = log.record_answer("slack", "C0COURSE01", f"{asked:.6f}", STUDENT, answer("first question"))
    second = log.record_answer("slack", "C0COURSE01", f"{asked:.6f}", STUDENT, answer("a follow-up in the same thread"))
    with sqlite3.connect(path) as connection:
        latency = dict(connection.execute("SELECT id, created_at - asked_at FROM answers").fetchall())
    assert 2.5 <= latency[first] < 60 and latency[second] is None  # a follow-up was not asked when the thread began
