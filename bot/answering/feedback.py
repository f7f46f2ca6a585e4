"""The answer log: every answer a bot posted, the thread it lives in, and the students' votes on it.

One SQLite file under the data dir (``feedback.sqlite``). It serves two purposes with one record:
threads (is this reply in a thread the bot answered? what was said there before?) and evaluation
(👍/👎 with the exact question, answer and citations, exported with ``course-ta feedback export``).
Platform-neutral: Slack and Discord write the same rows, told apart by ``platform``. The instructor
console reads the same file, and its escalations table lives here too (``bot/answering/escalations.py``).
In a deployment with several courses each row names its course (empty with one course). Each row
also keeps the question's vector as the query pipeline computed it (float16, with the id of the
vector space), so the console groups questions without embedding them again.

Exports are meant to be opened in a spreadsheet, so every text cell a student could have typed is
neutralised against formula injection (:func:`spreadsheet_safe`), and student ids can be replaced by
their pseudonyms (``bot/answering/privacy.py``).
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.answering.sqlite_file import SqliteFile
from pipelines.domain import Answer, Turn

if TYPE_CHECKING:
    from bot.answering.course_desk import CourseDesk
    from pipelines.courses.catalog import Course

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    message TEXT,
    user TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    grounded INTEGER NOT NULL,
    citations TEXT NOT NULL,
    store TEXT,
    answerer TEXT,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_thread ON answers (platform, channel, thread, created_at);
CREATE INDEX IF NOT EXISTS answers_by_user ON answers (user);
CREATE TABLE IF NOT EXISTS votes (
    answer_id TEXT NOT NULL REFERENCES answers(id),
    user TEXT NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)),
    comment TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (answer_id, user)
);
CREATE INDEX IF NOT EXISTS votes_by_user ON votes (user);
"""
# Columns added after the first release: answer logs written by an older version gain them on open.
# asked_at: when the question was posted (for answer latency), when the front door knows it.
# course: the course id the question was routed to ('' in a one-course deployment and in older rows).
# embedding, embedding_model: the question's vector (little-endian float16) and the vector space it lives in.
_ADDED_COLUMNS = (
    ("answers", "asked_at", "REAL"),
    ("answers", "course", "TEXT NOT NULL DEFAULT ''"),
    ("answers", "embedding", "BLOB"),
    ("answers", "embedding_model", "TEXT"),
)
# Indexes over added columns, made once the columns exist. The first covers the console's per-day figures.
_LATE_INDEXES = """
CREATE INDEX IF NOT EXISTS answers_by_day ON answers (created_at, platform, grounded, asked_at);
CREATE INDEX IF NOT EXISTS answers_by_course ON answers (course, created_at);
"""
VECTOR_DTYPE = np.dtype("<f2")

EXPORT_FORMATS = ("jsonl", "csv")


class UnknownAnswer(LookupError):
    """A vote for an answer this log never recorded (another deployment's data dir, or a forged id)."""


@dataclass(frozen=True)
class VoteRecord:
    """One student's vote joined with the answer it is about: a row of the evaluation export."""

    answer_id: str
    platform: str
    course: str
    channel: str
    thread: str
    asker: str | None
    voter: str
    vote: int
    question: str
    answer: str
    grounded: bool
    citations: list[dict[str, Any]]
    answered_at: float
    voted_at: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with times as ISO 8601 UTC."""
        return {
            "answer_id": self.answer_id,
            "platform": self.platform,
            "course": self.course,
            "channel": self.channel,
            "thread": self.thread,
            "asker": self.asker,
            "voter": self.voter,
            "vote": self.vote,
            "question": self.question,
            "answer": self.answer,
            "grounded": self.grounded,
            "citations": self.citations,
            "answered_at": _iso(self.answered_at),
            "voted_at": _iso(self.voted_at),
        }


def _iso(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _prepare_answer_log(db: sqlite3.Connection) -> None:
    """Create the tables, add columns older files lack, then the indexes on those columns."""
    db.executescript(_SCHEMA)
    _add_missing_columns(db)
    db.executescript(_LATE_INDEXES)


class AnswerLog:
    """Thread-safe: one short-lived connection per call, WAL so readers never block the writer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = SqliteFile(path, _prepare_answer_log)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.connect()

    def record_answer(
        self,
        platform: str,
        channel: str,
        thread: str,
        user: str | None,
        answer: Answer,
        message: str | None = None,
        asked_at: float | None = None,
        course: str = "",
    ) -> str:
        """Store a posted answer; returns its id (the value feedback buttons carry).

        ``asked_at`` (seconds since the epoch) is when the question was posted, for answer latency.
        Slack's thread ts is the post time of the thread's first message, so a Slack thread's first
        answer gets it from there when the caller does not say. ``course`` is the id of the course
        the question was routed to (empty in a one-course deployment). The answer's question vector,
        when it carries one, is stored with it.
        """
        answer_id = uuid.uuid4().hex
        citations = json.dumps([c.to_dict() for c in answer.citations], ensure_ascii=False)
        vector = pack_vector(answer.query_embedding) if answer.query_embedding else None
        space = answer.embedding_model if vector is not None else None
        now = time.time()
        with self._connect() as db:
            if asked_at is None and platform == "slack":
                asked_at = _slack_thread_start(db, channel, thread, now)
            db.execute(
                "INSERT INTO answers (id, platform, channel, thread, message, user, question, answer, grounded, citations,"
                " store, answerer, created_at, asked_at, course, embedding, embedding_model) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    answer_id,
                    platform,
                    channel,
                    thread,
                    message,
                    user,
                    answer.question,
                    answer.text,
                    int(answer.grounded),
                    citations,
                    answer.store,
                    answer.answerer,
                    now,
                    asked_at,
                    course,
                    vector,
                    space,
                ),
            )
        return answer_id

    def get(self, answer_id: str) -> dict[str, Any] | None:
        """One logged answer as a dict (question, answer, where it was posted, who asked), or None."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute(
                "SELECT id, platform, course, channel, thread, message, user, question, answer, grounded, created_at FROM answers WHERE id = ?",
                (answer_id,),
            ).fetchone()
        return dict(row) if row is not None else None

    def set_message(self, answer_id: str, message: str) -> None:
        """Remember the platform message that shows the answer (known only after it was posted)."""
        with self._connect() as db:
            db.execute("UPDATE answers SET message = ? WHERE id = ?", (message, answer_id))

    def answered_thread(self, platform: str, channel: str, thread: str) -> bool:
        """True when the bot answered in this thread, so replies there are follow-ups for it."""
        with self._connect() as db:
            row = db.execute(
                "SELECT 1 FROM answers WHERE platform = ? AND channel = ? AND thread = ? LIMIT 1", (platform, channel, thread)
            ).fetchone()
        return row is not None

    def thread_turns(self, platform: str, channel: str, thread: str, limit: int = 10) -> list[Turn]:
        """The thread's earlier question/answer pairs, oldest first (the last ``limit``)."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT question, answer FROM answers WHERE platform = ? AND channel = ? AND thread = ?"
                " ORDER BY created_at DESC, rowid DESC LIMIT ?",
                (platform, channel, thread, limit),
            ).fetchall()
        return [Turn(question, answer) for question, answer in reversed(rows)]

    def record_vote(self, answer_id: str, user: str, vote: int, comment: str | None = None) -> None:
        """A student's latest vote on an answer wins (changing 👍 to 👎 replaces it)."""
        if vote not in (-1, 1):
            raise ValueError("vote must be 1 or -1")
        with self._connect() as db:
            if db.execute("SELECT 1 FROM answers WHERE id = ?", (answer_id,)).fetchone() is None:
                raise UnknownAnswer(answer_id)
            db.execute(
                "INSERT INTO votes (answer_id, user, vote, comment, created_at) VALUES (?,?,?,?,?)"
                " ON CONFLICT (answer_id, user) DO UPDATE SET vote = excluded.vote, comment = excluded.comment,"
                " created_at = excluded.created_at",
                (answer_id, user, vote, comment, time.time()),
            )

    def votes(self, since: float | None = None) -> list[VoteRecord]:
        """Every vote (cast on or after ``since``, seconds since the epoch), oldest first."""
        query = (
            "SELECT a.id, a.platform, a.course, a.channel, a.thread, a.user, v.user, v.vote, a.question, a.answer, a.grounded,"
            " a.citations, a.created_at, v.created_at FROM votes v JOIN answers a ON a.id = v.answer_id"
        )
        params: tuple[Any, ...] = ()
        if since is not None:
            query += " WHERE v.created_at >= ?"
            params = (since,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY v.created_at, a.id, v.user", params).fetchall()
        return [
            VoteRecord(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]), json.loads(r[11]), r[12], r[13])
            for r in rows
        ]


def logged_course(desk: CourseDesk, course: Course | None) -> str:
    """The course id an answer is logged under: the routed course's id, empty in a one-course deployment."""
    return course.id if course is not None and desk.catalog.explicit else ""


def pack_vector(vector: Any) -> bytes:
    """A question vector as the log keeps it: little-endian float16 (384 dimensions: 768 bytes)."""
    return np.asarray(vector, dtype=np.float32).astype(VECTOR_DTYPE).tobytes()


def unpack_vector(blob: bytes) -> np.ndarray:
    """The float32 vector of a stored blob (as :func:`pack_vector` wrote it)."""
    return np.frombuffer(blob, dtype=VECTOR_DTYPE).astype(np.float32)


def _add_missing_columns(db: sqlite3.Connection) -> None:
    for table, column, declaration in _ADDED_COLUMNS:
        if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
            try:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            except sqlite3.OperationalError:  # another process added it first
                if column not in {row[1] for row in db.execute(f"PRAGMA table_info({table})")}:
                    raise


def _slack_thread_start(db: sqlite3.Connection, channel: str, thread: str, now: float) -> float | None:
    """The thread's post time when this is its first answer (a later answer follows a later message)."""
    try:
        started = float(thread)
    except ValueError:
        return None
    if not 0 < started <= now:
        return None
    earlier = db.execute(
        "SELECT 1 FROM answers WHERE platform = 'slack' AND channel = ? AND thread = ? LIMIT 1", (channel, thread)
    ).fetchone()
    return None if earlier else started


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets (tab and
# carriage return too: some spreadsheets strip them and then read what follows as a formula).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def spreadsheet_safe(value: Any) -> Any:
    """A text cell a spreadsheet shows as text: one starting like a formula gets a leading apostrophe (OWASP's advice).

    Numbers and booleans pass unchanged, so a negative vote stays the number -1.
    """
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    """CSV with a header, every text cell passed through :func:`spreadsheet_safe`; nested values become JSON text first."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        flat = {key: json.dumps(value, ensure_ascii=False) if isinstance(value, list | dict) else value for key, value in row.items()}
        writer.writerow({key: spreadsheet_safe(value) for key, value in flat.items()})
    return out.getvalue()


def export_votes(records: list[VoteRecord], fmt: str, pseudonym: Callable[[str | None], str | None] | None = None) -> str:
    """JSON lines (citations nested) or CSV (citations as a JSON column) for evaluation notebooks.

    ``pseudonym`` replaces the asker's and voter's ids (analytics never needs them in clear). CSV
    cells are safe to open in a spreadsheet; JSON lines keep the text exactly as it was typed.
    """
    rows = []
    for record in records:
        row = record.to_dict()
        if pseudonym is not None:
            row["asker"], row["voter"] = pseudonym(row["asker"]), pseudonym(row["voter"])
        rows.append(row)
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    if fmt == "csv":
        return write_csv(rows, list(VoteRecord.__dataclass_fields__))
    raise ValueError(f"unknown export format {fmt!r}; expected one of {', '.join(EXPORT_FORMATS)}")
