"""The answer log: the course column and the question vector, the migration of logs written before them, and the exports."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np

from bot.answering.escalations import EscalationLog
from bot.answering.feedback import AnswerLog, export_votes, unpack_vector
from bot.answering.privacy import Pseudonyms, apply_retention
from bot.console.data import gap_questions, overview
from pipelines.domain import Answer

# The schema of the first release, before asked_at, course and the question vectors.
OLD_ANSWERS = """
CREATE TABLE answers (
    id TEXT PRIMARY KEY, platform TEXT NOT NULL, channel TEXT NOT NULL, thread TEXT NOT NULL, message TEXT, user TEXT,
    question TEXT NOT NULL, answer TEXT NOT NULL, grounded INTEGER NOT NULL, citations TEXT NOT NULL, store TEXT, answerer TEXT,
    created_at REAL NOT NULL
);
CREATE TABLE votes (
    answer_id TEXT NOT NULL REFERENCES answers(id), user TEXT NOT NULL, vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), comment TEXT,
    created_at REAL NOT NULL, PRIMARY KEY (answer_id, user)
);
CREATE TABLE escalations (
    id TEXT PRIMARY KEY, answer_id TEXT, platform TEXT NOT NULL, channel TEXT NOT NULL, thread TEXT NOT NULL, message TEXT, user TEXT,
    question TEXT NOT NULL, answer TEXT NOT NULL, status TEXT NOT NULL, ta_channel TEXT, ta_message TEXT, ta_reply TEXT,
    resolved_by TEXT, error TEXT, created_at REAL NOT NULL, resolved_at REAL
);
"""


def declined(question: str, vector: list[float] | None = None) -> Answer:
    answer = Answer(question, "Not covered.", False, [], "embedded", "offline-extractive")
    if vector is not None:
        answer.query_embedding, answer.embedding_model = vector, "model-a"
    return answer


def old_log(path: Path) -> None:
    db = sqlite3.connect(path)
    with db:
        db.executescript(OLD_ANSWERS)
        db.execute(
            "INSERT INTO answers VALUES ('old1', 'slack', 'C1', '1.0', NULL, 'U1', 'an old question', 'Not covered.', 0, '[]', 'embedded',"
            " 'offline-extractive', 1000.0)"
        )
        db.execute("INSERT INTO votes VALUES ('old1', 'U2', -1, NULL, 1001.0)")
        db.execute(
            "INSERT INTO escalations VALUES ('e1', 'old1', 'slack', 'C1', '1.0', NULL, 'U1', 'an old question', 'Not covered.', 'open',"
            " NULL, NULL, NULL, NULL, NULL, 1002.0, NULL)"
        )
    db.close()


def test_an_old_log_is_read_before_and_after_it_migrates(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    old_log(path)
    # The console only reads: an old file nobody migrated yet still shows its figures and gap questions.
    assert [q.question for q in gap_questions(path)] == ["an old question"] and gap_questions(path)[0].embedding is None
    assert overview(path, 3650, now=2000.0).questions == 1

    log = AnswerLog(path)
    (record,) = log.votes()
    assert record.course == "" and record.question == "an old question"  # old rows belong to no course
    log.record_answer("slack", "C1", "2.0", "U1", declined("a new question", [0.6, 0.8]), course="bio")
    db = sqlite3.connect(path)
    rows = db.execute("SELECT id, course, embedding IS NULL, embedding_model, asked_at FROM answers ORDER BY created_at").fetchall()
    db.close()
    assert rows[0] == ("old1", "", 1, None, None)
    assert rows[1][1:4] == ("bio", 0, "model-a")
    escalations = EscalationLog(path)
    assert escalations.get("e1").course == ""  # the escalations table migrates too
    fresh = next(q for q in gap_questions(path) if q.question == "a new question")
    np.testing.assert_allclose(unpack_vector(fresh.embedding), [0.6, 0.8], atol=1e-3)
    assert fresh.embedding_model == "model-a"


def test_course_lands_in_rows_escalations_exports_and_the_overview_filter(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    log = AnswerLog(path)
    rag = log.record_answer("slack", "C1", "1.0", "U1", declined("rag question"), course="rag")
    bio = log.record_answer("discord", "D1", "77", "U2", declined("bio question"), message="555", course="bio")
    log.record_answer("slack", "C1", "2.0", "U1", declined("no course"))
    assert log.get(rag)["course"] == "rag"
    log.record_vote(bio, "U3", -1)
    vote = json.loads(export_votes(log.votes(), "jsonl"))
    assert vote["course"] == "bio"
    assert "course" in export_votes(log.votes(), "csv").splitlines()[0].split(",")

    escalations = EscalationLog(path)
    by_id, _ = escalations.open("slack", "C1", "1.0", "U1", "rag question", "Not covered.", answer_id=rag)
    by_message, _ = escalations.open("discord", "D1", "77", "U2", "bio question", "Not covered.", answer_id="discord:555", message="555")
    assert (by_id.course, by_message.course) == ("rag", "bio")  # taken from the logged answer

    everything = overview(path, 30)
    assert everything.courses == ["", "bio", "rag"] and everything.questions == 3
    only_bio = overview(path, 30, course="bio")
    assert (only_bio.questions, only_bio.down, only_bio.platforms) == (1, 1, ["discord"])
    assert overview(path, 30, course="").questions == 1


def test_retention_removes_the_question_vector_with_the_text(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite"
    AnswerLog(path).record_answer("slack", "C1", "1.0", "U1", declined("a question", [1.0, 0.0]))
    assert apply_retention(path, Pseudonyms(tmp_path), 1, now=10**10).total
    db = sqlite3.connect(path)
    assert db.execute("SELECT question, embedding FROM answers").fetchone() == ("", None)
    db.close()
