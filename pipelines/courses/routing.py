"""Which course a question belongs to: by channel, by server, by the student's explicit choice, or by their last one.

A question asked in a course's channel is answered from that course only. In a DM (or a channel no
course claims) the student names the course (``[nlp] what is attention?`` or Discord's ``course``
option); otherwise their last course is used, and if they have none and there are several courses,
the bot asks which one instead of guessing.
"""

from __future__ import annotations

import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from pipelines.courses.catalog import Course, CourseCatalog
from pipelines.sqlite_file import SqliteFile

# "[nlp] question", "nlp: question" or "course nlp question" at the start of a DM picks the course.
_PREFIX = re.compile(r"^\s*(?:\[(?P<a>[a-z0-9-]{1,32})\]|(?P<b>[a-z0-9-]{1,32}):|course[ =:]+(?P<c>[a-z0-9-]{1,32})\b)\s*", re.I)


@dataclass(frozen=True)
class Route:
    """Where a question goes: a course and the question without any course prefix, or ``None`` with what to ask."""

    course: Course | None
    question: str
    ask_which: str = ""
    how: str = ""


class CourseRouter:
    """Maps Slack channels and Discord servers/channels to courses; remembers each student's last course for DMs."""

    def __init__(self, catalog: CourseCatalog, memory_path: Path | None = None) -> None:
        self.catalog = catalog
        self.memory_path = memory_path
        self._memory = SqliteFile(memory_path, _prepare_memory) if memory_path is not None else None
        self._slack = {channel: course for course in catalog.courses for channel in course.slack_channels}
        self._slack.update({channel: course for course in catalog.courses for channel in course.policy.answer_without_mention})
        self._discord_channels = {channel: course for course in catalog.courses for channel in course.discord_channels}
        self._discord_channels.update(
            {channel: course for course in catalog.courses for channel in course.policy.answer_without_mention_discord}
        )
        self._discord_guilds = {guild: course for course in catalog.courses for guild in course.discord_guilds}

    def slack(self, user: str, channel: str, question: str, *, direct: bool = False) -> Route:
        """The course for a Slack message in ``channel`` (``direct`` for DMs and the agent view)."""
        course = None if direct else self._slack.get(channel)
        return self._decide(f"slack:{user}", course, question, "channel")

    def discord(self, user: str, guild: str | None, channel: str | None, question: str, explicit: str | None = None) -> Route:
        """The course for a Discord ``/ask``: the ``course`` option, else the channel, else the server, else the DM rules."""
        if explicit:
            course = self._find(explicit)
            if course is None:
                return Route(None, question, f"There is no course {explicit!r}. Choose one of: {self._choices()}.")
            self.remember(f"discord:{user}", course.id)
            return Route(course, question, how="option")
        course = self._discord_channels.get(channel or "") or self._discord_guilds.get(guild or "")
        return self._decide(f"discord:{user}", course, question, "channel" if channel in self._discord_channels else "server")

    def _decide(self, student: str, course: Course | None, question: str, how: str) -> Route:
        if len(self.catalog.courses) == 1:
            return Route(self.catalog.courses[0], question, how="only course")
        if course is not None:
            self.remember(student, course.id)
            return Route(course, question, how=how)
        named, rest = self._prefixed(question)
        if named is not None:
            self.remember(student, named.id)
            return Route(named, rest, how="prefix")
        last = self._find(self.recall(student) or "")
        if last is not None:
            return Route(last, question, how="last course")
        return Route(
            None,
            question,
            f"Which course is this about? Start your question with the course in brackets, e.g. "
            f"`[{self.catalog.courses[0].id}] {question[:60]}`. Courses: {self._choices()}.",
        )

    def _prefixed(self, question: str) -> tuple[Course | None, str]:
        match = _PREFIX.match(question)
        if not match:
            return None, question
        course = self._find(match.group("a") or match.group("b") or match.group("c"))
        return (course, question[match.end() :]) if course is not None else (None, question)

    def _find(self, course_id: str) -> Course | None:
        return next((course for course in self.catalog.courses if course.id == course_id.lower()), None)

    def _choices(self) -> str:
        return ", ".join(f"`{course.id}` ({course.title})" for course in self.catalog.courses if not course.paused)

    def choices(self, prefix: str = "") -> list[Course]:
        """Courses whose id or title starts with ``prefix`` (Discord's autocomplete), paused ones left out."""
        prefix = prefix.lower()
        return [c for c in self.catalog.courses if not c.paused and (c.id.startswith(prefix) or c.title.lower().startswith(prefix))]

    def remember(self, student: str, course_id: str) -> None:
        """Keep ``course_id`` as this student's last course (for their next DM)."""
        if self._memory is None:
            return
        with self._memory.connect() as db:
            db.execute("INSERT OR REPLACE INTO last_course (student, course, at) VALUES (?, ?, ?)", (student, course_id, time.time()))

    def recall(self, student: str) -> str | None:
        """This student's last course, if any."""
        if self._memory is None or not self._memory.path.exists():
            return None
        with self._memory.connect() as db:
            row = db.execute("SELECT course FROM last_course WHERE student = ?", (student,)).fetchone()
        return str(row[0]) if row else None

    def forget(self, student: str) -> int:
        """Remove what is remembered about ``student`` (privacy); returns rows deleted."""
        if self._memory is None or not self._memory.path.exists():
            return 0
        with self._memory.connect() as db:
            return db.execute("DELETE FROM last_course WHERE student = ?", (student,)).rowcount


ROUTES_FILE = "course_routes.sqlite"  # in the deployment's data dir


def forget_routes(data_dir: Path, user: str) -> int:
    """Remove the last course remembered for ``user`` (a Slack or Discord id) on either platform; rows deleted.

    Privacy's "forget this student" needs no catalog, so this works on the file alone.
    """
    path = data_dir / ROUTES_FILE
    if not path.exists():
        return 0
    with SqliteFile(path, _prepare_memory).connect() as db:
        return db.execute("DELETE FROM last_course WHERE student IN (?, ?)", (f"slack:{user}", f"discord:{user}")).rowcount


def _prepare_memory(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS last_course (student TEXT PRIMARY KEY, course TEXT NOT NULL, at REAL NOT NULL)")
