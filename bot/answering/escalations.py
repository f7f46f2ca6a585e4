"""Escalations: questions a student handed to a human TA, kept in the answer log's file until a TA's reply reached them.

A row holds what a TA needs to answer (question, the bot's answer, platform) and where the reply
must go (the student's channel and thread, the student's id), plus the post in the TA channel that
announced it. Status moves ``open`` → ``resolved`` (the reply was delivered) or ``failed`` (the
platform refused it; the error is kept and the TA can try again). In a deployment with several
courses a row names the course of the answer it escalates (empty with one course), and
:class:`TAChannels` sends it to that course's own TA channel when the courses file names one.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bot.answering.sqlite_file import SqliteFile
from pipelines.courses.catalog import CourseCatalog
from pipelines.courses.course_settings import catalog_of
from pipelines.settings import Settings

OPEN, RESOLVED, FAILED = "open", "resolved", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    id TEXT PRIMARY KEY,
    answer_id TEXT,
    platform TEXT NOT NULL,
    channel TEXT NOT NULL,
    thread TEXT NOT NULL,
    message TEXT,
    user TEXT,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    status TEXT NOT NULL,
    ta_channel TEXT,
    ta_message TEXT,
    ta_reply TEXT,
    resolved_by TEXT,
    error TEXT,
    created_at REAL NOT NULL,
    resolved_at REAL
);
CREATE INDEX IF NOT EXISTS escalations_by_status ON escalations (status, created_at);
CREATE INDEX IF NOT EXISTS escalations_by_ta_post ON escalations (platform, ta_channel, ta_message);
CREATE INDEX IF NOT EXISTS escalations_by_user ON escalations (user);
"""
# Added after the first release; tables written by an older version gain it on open.
_ADDED_COLUMN = "course", "TEXT NOT NULL DEFAULT ''"
_COLUMNS = (
    "id, answer_id, platform, channel, thread, message, user, question, answer, status, ta_channel, ta_message, ta_reply,"
    " resolved_by, error, created_at, resolved_at, course"
)


@dataclass(frozen=True)
class Escalation:
    """One hand-off to a human TA and where its reply goes."""

    id: str
    answer_id: str | None
    platform: str
    channel: str
    thread: str
    message: str | None
    user: str | None
    question: str
    answer: str
    status: str
    ta_channel: str | None
    ta_message: str | None
    ta_reply: str | None
    resolved_by: str | None
    error: str | None
    created_at: float
    resolved_at: float | None
    course: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready."""
        return asdict(self)


@dataclass(frozen=True)
class TAChannels:
    """Where escalations are posted: the course's own TA channel when the courses file names one, else the deployment's.

    Courses are named by the id the answer log and the escalations record (empty with one course,
    which always gets the deployment's ``COURSE_TA_CONSOLE_TA_*_CHANNEL``).
    """

    slack_default: str | None = None
    discord_default: str | None = None
    slack_by_course: Mapping[str, str] = field(default_factory=dict)
    discord_by_course: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, settings: Settings, catalog: CourseCatalog | None = None) -> TAChannels:
        """The deployment's TA channels and those of every course in ``catalog`` (default: the deployment's courses file)."""
        catalog = catalog if catalog is not None else catalog_of(settings)
        courses = catalog.courses if catalog.explicit else []
        return cls(
            settings.console_ta_slack_channel,
            settings.console_ta_discord_channel,
            {course.id: course.ta_slack_channel for course in courses if course.ta_slack_channel},
            {course.id: course.ta_discord_channel for course in courses if course.ta_discord_channel},
        )

    def slack(self, course: str) -> str | None:
        """The Slack channel for an escalation of this course, or None when neither it nor the deployment has one."""
        return self.slack_by_course.get(course) or self.slack_default

    def discord(self, course: str) -> str | None:
        """The Discord channel for an escalation of this course, or None when neither it nor the deployment has one."""
        return self.discord_by_course.get(course) or self.discord_default

    def all_slack(self) -> frozenset[str]:
        """Every Slack TA channel (where TAs reply in the threads of escalation posts)."""
        return frozenset(filter(None, (self.slack_default, *self.slack_by_course.values())))

    def all_discord(self) -> frozenset[str]:
        """Every Discord TA channel; empty when no escalation can be posted anywhere."""
        return frozenset(filter(None, (self.discord_default, *self.discord_by_course.values())))


def _prepare_escalations(db: sqlite3.Connection) -> None:
    """Create the table and add the course column older files lack."""
    db.executescript(_SCHEMA)
    _add_course_column(db)


class EscalationLog:
    """The ``escalations`` table of the answer log file; thread-safe, one short connection per call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = SqliteFile(path, _prepare_escalations)

    def _connect(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._file.connect()

    def open(
        self,
        platform: str,
        channel: str,
        thread: str,
        user: str | None,
        question: str,
        answer: str,
        *,
        answer_id: str | None = None,
        message: str | None = None,
        course: str | None = None,
    ) -> tuple[Escalation, bool]:
        """The student's open escalation of this answer, or a new one; ``(escalation, created)``.

        Pressing "Ask a TA" twice on the same answer does not ask twice. ``course`` defaults to the
        course the answer log recorded for the answer (found by its id, or by the message showing it).
        """
        with self._connect() as db:
            if answer_id is not None:
                row = db.execute(
                    f"SELECT {_COLUMNS} FROM escalations WHERE answer_id = ? AND user IS ? AND status != ?", (answer_id, user, RESOLVED)
                ).fetchone()
                if row is not None:
                    return Escalation(*row), False
            if course is None:
                course = _answer_course(db, platform, answer_id, message)
            escalation_id = uuid.uuid4().hex
            db.execute(
                f"INSERT INTO escalations ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,NULL,NULL,NULL,NULL,NULL,?,NULL,?)",
                (escalation_id, answer_id, platform, channel, thread, message, user, question, answer, OPEN, time.time(), course),
            )
        found = self.get(escalation_id)
        assert found is not None
        return found, True

    def set_ta_post(self, escalation_id: str, ta_channel: str, ta_message: str) -> None:
        """Remember the TA-channel post that announced it (a reply in that post's thread answers it)."""
        with self._connect() as db:
            db.execute("UPDATE escalations SET ta_channel = ?, ta_message = ? WHERE id = ?", (ta_channel, ta_message, escalation_id))

    def get(self, escalation_id: str) -> Escalation | None:
        """The escalation with this id, if any."""
        with self._connect() as db:
            row = db.execute(f"SELECT {_COLUMNS} FROM escalations WHERE id = ?", (escalation_id,)).fetchone()
        return Escalation(*row) if row else None

    def by_ta_post(self, platform: str, ta_channel: str, ta_message: str) -> Escalation | None:
        """The escalation announced by this TA-channel post, if any."""
        with self._connect() as db:
            row = db.execute(
                f"SELECT {_COLUMNS} FROM escalations WHERE platform = ? AND ta_channel = ? AND ta_message = ?",
                (platform, ta_channel, ta_message),
            ).fetchone()
        return Escalation(*row) if row else None

    def list(self, status: str | None = None, limit: int = 500) -> list[Escalation]:
        """Escalations, open and failed ones first, newest first within each."""
        query = f"SELECT {_COLUMNS} FROM escalations"
        params: tuple[Any, ...] = ()
        if status:
            query += " WHERE status = ?"
            params = (status,)
        query += " ORDER BY status = 'resolved', created_at DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*params, limit)).fetchall()
        return [Escalation(*row) for row in rows]

    def resolve(self, escalation_id: str, reply: str, by: str) -> None:
        """The TA's reply reached the student: keep it and close the escalation."""
        with self._connect() as db:
            db.execute(
                "UPDATE escalations SET status = ?, ta_reply = ?, resolved_by = ?, error = NULL, resolved_at = ? WHERE id = ?",
                (RESOLVED, reply, by, time.time(), escalation_id),
            )

    def fail(self, escalation_id: str, reply: str, error: str) -> None:
        """The platform refused the reply: keep it and why, so the TA can try again."""
        with self._connect() as db:
            db.execute(
                "UPDATE escalations SET status = ?, ta_reply = ?, error = ? WHERE id = ?", (FAILED, reply, error[:500], escalation_id)
            )


def _add_course_column(db: sqlite3.Connection) -> None:
    column, declaration = _ADDED_COLUMN
    if column not in {row[1] for row in db.execute("PRAGMA table_info(escalations)")}:
        try:
            db.execute(f"ALTER TABLE escalations ADD COLUMN {column} {declaration}")
        except sqlite3.OperationalError:  # another process added it first
            if column not in {row[1] for row in db.execute("PRAGMA table_info(escalations)")}:
                raise


def _answer_course(db: sqlite3.Connection, platform: str, answer_id: str | None, message: str | None) -> str:
    """The course the answer log recorded for the escalated answer; '' when it has none (or no such answer)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(answers)")}
    if "course" not in columns:  # no answer log in this file yet, or one an older version wrote
        return ""
    row = None
    if answer_id is not None:
        row = db.execute("SELECT course FROM answers WHERE id = ?", (answer_id,)).fetchone()
    if row is None and message is not None:
        row = db.execute(
            "SELECT course FROM answers WHERE platform = ? AND message = ? ORDER BY created_at DESC LIMIT 1", (platform, message)
        ).fetchone()
    return str(row[0] or "") if row is not None else ""
