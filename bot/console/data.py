"""What the console pages show, read from the answer log with SQL (aggregation happens in SQLite, not in Python).

Every figure is computed from the same file the bots write; nothing is copied. :func:`data_version`
is a cheap fingerprint of that file's contents, so pages can cache what they computed until it changes.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DAY_S = 86_400


@contextmanager
def read_only(path: Path) -> Iterator[sqlite3.Connection | None]:
    """A read-only connection to the answer log, or ``None`` while nothing was logged yet."""
    if not path.exists():
        yield None
        return
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)
    try:
        yield db
    finally:
        db.close()


def _has(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone() is not None


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    """The table's columns: a log no bot has opened since an upgrade lacks the newer ones (the console only reads)."""
    return {row[1] for row in db.execute(f"PRAGMA table_info({table})")}


def data_version(path: Path) -> tuple[Any, ...]:
    """Changes whenever anything is written to the answer log: the sizes and modification times of the file and its WAL.

    Every commit appends to the WAL (or, after a checkpoint, rewrites the file), so this is O(1) and
    never misses a change, at the price of an occasional needless recomputation.
    """
    parts: list[Any] = []
    for candidate in (path, path.with_name(path.name + "-wal")):
        try:
            stat = candidate.stat()
        except FileNotFoundError:
            parts.append(None)
        else:
            parts.append((stat.st_mtime_ns, stat.st_size))
    return tuple(parts)


@dataclass
class Overview:
    """The overview page's figures over the last ``days`` days."""

    days: int
    since: float
    questions: int = 0
    answered: int = 0
    not_covered: int = 0
    up: int = 0
    down: int = 0
    latency_p50: float | None = None
    latency_p95: float | None = None
    latency_count: int = 0
    per_day: list[dict[str, Any]] = field(default_factory=list)  # day, platform, answered, not_covered
    votes_per_day: list[dict[str, Any]] = field(default_factory=list)  # day, up, down
    latencies: list[float] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    course: str | None = None  # the course the figures are for; None: every course
    courses: list[str] = field(default_factory=list)  # every course id in the log ('' for rows without one)

    @property
    def up_rate(self) -> float | None:
        """Share of 👍 among the votes, or None without votes."""
        votes = self.up + self.down
        return self.up / votes if votes else None


def day_label(day: int) -> str:
    """``YYYY-MM-DD`` (UTC) of a day number (days since the epoch)."""
    return time.strftime("%Y-%m-%d", time.gmtime(day * DAY_S))


def overview(path: Path, days: int, now: float | None = None, course: str | None = None) -> Overview:
    """Questions per day and platform, answered against "not covered", votes and answer latency; of one ``course`` when given."""
    now = time.time() if now is None else now
    since = (int(now // DAY_S) - days + 1) * DAY_S
    result = Overview(days=days, since=since, course=course)
    with read_only(path) as db:
        if db is None:
            return result
        columns = _columns(db, "answers")
        has_course = "course" in columns
        if has_course:
            result.courses = [row[0] for row in db.execute("SELECT DISTINCT course FROM answers ORDER BY course")]
        if course is not None and not has_course:
            course = ""  # rows written before courses were logged belong to no course
        only = "" if course is None else " AND coalesce(a.course, '') = ?" if has_course else " AND ? = ''"
        of_course: tuple[Any, ...] = () if course is None else (course,)
        rows = db.execute(
            "SELECT CAST(created_at / ? AS INTEGER) AS day, platform, total(grounded), count(*) FROM answers a WHERE created_at >= ?"
            f"{only} GROUP BY day, platform ORDER BY day, platform",
            (DAY_S, since, *of_course),
        ).fetchall()
        for day, platform, grounded, count in rows:
            result.per_day.append(
                {"day": day_label(day), "platform": platform, "answered": int(grounded), "not_covered": count - int(grounded)}
            )
            result.questions += count
            result.answered += int(grounded)
        result.not_covered = result.questions - result.answered
        result.platforms = sorted({row["platform"] for row in result.per_day})
        votes = db.execute(
            "SELECT CAST(a.created_at / ? AS INTEGER) AS day, total(v.vote > 0), total(v.vote < 0) FROM votes v"
            f" JOIN answers a ON a.id = v.answer_id WHERE a.created_at >= ?{only} GROUP BY day ORDER BY day",
            (DAY_S, since, *of_course),
        ).fetchall()
        for day, up, down in votes:
            result.votes_per_day.append({"day": day_label(day), "up": int(up), "down": int(down)})
            result.up += int(up)
            result.down += int(down)
        latencies = (
            [
                row[0]
                for row in db.execute(
                    "SELECT created_at - asked_at FROM answers a WHERE created_at >= ? AND asked_at IS NOT NULL AND asked_at <= created_at"
                    + only,
                    (since, *of_course),
                )
            ]
            if "asked_at" in columns
            else []
        )
    if latencies:
        values = np.asarray(latencies, dtype=float)
        result.latency_p50 = float(np.percentile(values, 50))
        result.latency_p95 = float(np.percentile(values, 95))
        result.latency_count = len(latencies)
        result.latencies = latencies
    return result


@dataclass(frozen=True)
class GapQuestion:
    """A question the lectures did not cover, or whose answer got a 👎; with its vector when the log kept one."""

    question: str
    not_covered: bool
    thumbs_down: bool
    asked_at: float
    embedding: bytes | None = field(default=None, repr=False, compare=False)  # float16, as the answer log stores it
    embedding_model: str = ""  # the vector space of ``embedding``


def gap_questions(path: Path, limit: int = 50_000) -> list[GapQuestion]:
    """The most recent ``limit`` questions that were declined or voted down (texts past retention are gone)."""
    with read_only(path) as db:
        if db is None:
            return []
        stored = "a.embedding, a.embedding_model" if "embedding" in _columns(db, "answers") else "NULL, NULL"
        rows = db.execute(
            "SELECT a.question, a.grounded = 0, EXISTS (SELECT 1 FROM votes v WHERE v.answer_id = a.id AND v.vote < 0), a.created_at,"
            f" {stored} FROM answers a"
            " WHERE a.question != '' AND (a.grounded = 0 OR EXISTS (SELECT 1 FROM votes v WHERE v.answer_id = a.id AND v.vote < 0))"
            " ORDER BY a.created_at DESC LIMIT ?",
            (limit,),
        ).fetchall()
    return [GapQuestion(row[0], bool(row[1]), bool(row[2]), row[3], row[4], row[5] or "") for row in rows]


@dataclass
class CitedVideo:
    """Where on one video's timeline answers point, and what was asked."""

    video_id: str
    title: str
    url: str
    citations: int
    moments: list[tuple[float, int]] = field(default_factory=list)  # (second, how many citations start in that bucket)
    top_questions: list[tuple[str, int]] = field(default_factory=list)


MOMENT_BUCKET_S = 10


def cited_videos(path: Path, limit: int = 20, questions_per_video: int = 5, video_id: str | None = None) -> list[CitedVideo]:
    """The most cited videos (or one), with the cited moments in 10-second buckets and the questions asked most."""
    with read_only(path) as db:
        if db is None:
            return []
        where = "WHERE json_extract(c.value, '$.video_id') = ?" if video_id else ""
        params: tuple[Any, ...] = (video_id,) if video_id else ()
        top = db.execute(
            "SELECT json_extract(c.value, '$.video_id') AS vid, max(json_extract(c.value, '$.title')), max(json_extract(c.value, '$.url')),"
            f" count(*) AS n FROM answers a, json_each(a.citations) c {where} GROUP BY vid ORDER BY n DESC, vid LIMIT ?",
            (*params, limit),
        ).fetchall()
        videos = {row[0]: CitedVideo(str(row[0]), str(row[1] or row[0]), _strip_time(str(row[2] or "")), int(row[3])) for row in top}
        if not videos:
            return []
        marks = ",".join("?" * len(videos))
        ids = tuple(videos)
        for vid, bucket, count in db.execute(
            f"SELECT json_extract(c.value, '$.video_id') AS vid, CAST(coalesce(json_extract(c.value, '$.start_s'), 0) / ? AS INTEGER) AS b,"
            f" count(*) FROM answers a, json_each(a.citations) c WHERE vid IN ({marks}) GROUP BY vid, b",
            (MOMENT_BUCKET_S, *ids),
        ):
            videos[vid].moments.append((float(bucket * MOMENT_BUCKET_S), int(count)))
        for vid, question, count in db.execute(
            "SELECT vid, q, n FROM (SELECT vid, q, n, row_number() OVER (PARTITION BY vid ORDER BY n DESC, q) AS r FROM"
            " (SELECT json_extract(c.value, '$.video_id') AS vid, a.question AS q, count(*) AS n FROM answers a, json_each(a.citations) c"
            f" WHERE a.question != '' AND vid IN ({marks}) GROUP BY vid, lower(a.question))) WHERE r <= ? ORDER BY vid, n DESC",
            (*ids, questions_per_video),
        ):
            videos[vid].top_questions.append((question, int(count)))
    return list(videos.values())


def _strip_time(url: str) -> str:
    """The video's link without a start time (citation URLs carry the cited second)."""
    for marker in ("&t=", "#t="):
        if marker in url:
            return url.split(marker, 1)[0]
    return url


def escalations_per_day(path: Path, days: int, now: float | None = None) -> list[dict[str, Any]]:
    """Escalations opened and resolved per day over the last ``days`` days."""
    now = time.time() if now is None else now
    since = (int(now // DAY_S) - days + 1) * DAY_S
    with read_only(path) as db:
        if db is None or not _has(db, "escalations"):
            return []
        opened = dict(
            db.execute(
                "SELECT CAST(created_at / ? AS INTEGER) AS d, count(*) FROM escalations WHERE created_at >= ? GROUP BY d", (DAY_S, since)
            ).fetchall()
        )
        resolved = dict(
            db.execute(
                "SELECT CAST(resolved_at / ? AS INTEGER) AS d, count(*) FROM escalations WHERE resolved_at >= ? GROUP BY d", (DAY_S, since)
            ).fetchall()
        )
    return [{"day": day_label(d), "opened": opened.get(d, 0), "resolved": resolved.get(d, 0)} for d in sorted(set(opened) | set(resolved))]


def logged_questions(path: Path, since: float) -> list[dict[str, Any]]:
    """Every logged answer since ``since`` (for the export): question, answer, platform, votes; the student id as logged."""
    with read_only(path) as db:
        if db is None:
            return []
        db.row_factory = sqlite3.Row
        columns = _columns(db, "answers")
        course = "a.course" if "course" in columns else "''"
        latency = "a.created_at - a.asked_at" if "asked_at" in columns else "NULL"
        rows = db.execute(
            f"SELECT a.id AS answer_id, a.platform, {course} AS course, a.user AS student, a.question, a.answer, a.grounded, a.created_at,"
            f" {latency} AS latency_s,"
            " (SELECT total(v.vote > 0) FROM votes v WHERE v.answer_id = a.id) AS up,"
            " (SELECT total(v.vote < 0) FROM votes v WHERE v.answer_id = a.id) AS down"
            " FROM answers a WHERE a.created_at >= ? ORDER BY a.created_at",
            (since,),
        ).fetchall()
    return [dict(row) for row in rows]
