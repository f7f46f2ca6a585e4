"""Per-course isolation: a paused course, a question rate per course, and an LLM token budget per course per day.

The counters live in one SQLite file under the deployment's data dir, so every process (Slack,
Discord, CLI) spends from the same daily budget and one course can never spend another's.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from pipelines.courses.catalog import Course
from pipelines.sqlite_file import SqliteFile

# One file per deployment (not per course): every course's budget is kept where every process looks.
LIMITS_FILE = "course_limits.sqlite"


def paused_notice(course: Course) -> str | None:
    """What a student (or the CLI) is told when the course is paused, or None when it answers.

    Every front door asks this one function, so Slack, Discord and ``course-ta ask`` say the same thing.
    """
    if course.paused:
        return f"{course.title} is paused by the course team; questions are not being answered right now."
    return None


def utc_day(now: float | None = None) -> str:
    """The budget day a moment belongs to (UTC, so every process agrees)."""
    return datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y-%m-%d")


class CourseLimits:
    """Decides whether a course may take a question now and whether it may still call the LLM today."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = SqliteFile(path, _prepare_limits)
        self._lock = threading.Lock()  # guards the in-memory question rates
        self._recent: dict[str, deque[float]] = {}
        self._now = time.monotonic

    @classmethod
    def of_deployment(cls, data_dir: Path) -> CourseLimits:
        """The limits every process of the deployment whose data dir is ``data_dir`` shares."""
        return cls(data_dir / LIMITS_FILE)

    def refusal(self, course: Course) -> str | None:
        """Why this course takes no question right now (paused, or over its per-minute rate), or None."""
        notice = paused_notice(course)
        if notice:
            return notice
        limit = course.policy.questions_per_minute
        if not limit:
            return None
        now = self._now()
        with self._lock:
            recent = self._recent.setdefault(course.id, deque())
            while recent and now - recent[0] >= 60.0:
                recent.popleft()
            if len(recent) >= limit:
                return f"{course.title} is getting many questions right now ({limit} a minute); please ask again in a minute."
            recent.append(now)
        return None

    def llm_allowed(self, course: Course, day: str | None = None) -> bool:
        """True while the course has LLM tokens left today (always, without a budget)."""
        budget = course.policy.llm_daily_tokens
        return not budget or self.tokens_spent(course.id, day) < budget

    def spend(self, course_id: str, tokens: int, day: str | None = None) -> None:
        """Add ``tokens`` to what ``course_id`` spent on ``day`` (today by default)."""
        if tokens <= 0:
            return
        with self._file.connect() as db:
            db.execute(
                "INSERT INTO llm_spend (course, day, tokens) VALUES (?, ?, ?) "
                "ON CONFLICT(course, day) DO UPDATE SET tokens = tokens + excluded.tokens",
                (course_id, day or utc_day(), int(tokens)),
            )

    def tokens_spent(self, course_id: str, day: str | None = None) -> int:
        """Tokens ``course_id`` spent on ``day`` (today by default)."""
        if not self.path.exists():
            return 0
        with self._file.connect() as db:
            row = db.execute("SELECT tokens FROM llm_spend WHERE course = ? AND day = ?", (course_id, day or utc_day())).fetchone()
        return int(row[0]) if row else 0


def _prepare_limits(db: sqlite3.Connection) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS llm_spend (course TEXT, day TEXT, tokens INTEGER, PRIMARY KEY (course, day))")
