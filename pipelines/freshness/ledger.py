"""The ledger: a SQLite record of every source, every video and every stage of its processing.

Why SQLite and one row per (video, stage): each stage commits the moment it finishes, with the
hash of what it consumed and of what it produced. A restarted process (after Ctrl-C, a crash or
``kill -9``) compares those hashes with the current inputs and redoes only the stages whose inputs
changed or that never finished. WAL mode keeps every committed row across a killed process and
lets ``course-ta status`` read while a sync writes.

Stages: ``listed`` → ``transcript`` (fetched captions, transcript file or faster-whisper) →
``cleaned`` → ``summarized`` (skipped until summaries exist) → ``indexed``.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipelines.corpus.sources.video_ref import VideoRef
from pipelines.settings import Settings

STAGES = ("listed", "transcript", "cleaned", "summarized", "indexed")
EMBEDDED_WITH = " embedded with "  # the indexed stage's detail ends with this and the embedding model
DONE, FAILED, RUNNING, SKIPPED, PENDING = "done", "failed", "running", "skipped", "pending"
SATISFIED = (DONE, SKIPPED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    source_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    added_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS videos (
    video_id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    ref_json TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    published TEXT,
    listed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
    video_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    input_hash TEXT,
    output_hash TEXT,
    detail TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    retryable INTEGER NOT NULL DEFAULT 1,
    next_attempt_at REAL,
    started_at REAL,
    finished_at REAL,
    seconds REAL,
    PRIMARY KEY (video_id, stage)
);
CREATE INDEX IF NOT EXISTS stages_status ON stages (status, next_attempt_at);
"""


@dataclass(frozen=True)
class Source:
    source_id: str
    kind: str
    location: str
    added_at: float


@dataclass(frozen=True)
class StageRecord:
    video_id: str
    stage: str
    status: str
    input_hash: str | None
    output_hash: str | None
    detail: str | None
    attempts: int
    last_error: str | None
    retryable: bool
    next_attempt_at: float | None
    started_at: float | None
    finished_at: float | None
    seconds: float | None

    def satisfied_by(self, input_hash: str) -> bool:
        return self.status in SATISFIED and self.input_hash == input_hash


def source_id_for(kind: str, location: str) -> str:
    return f"{kind}-{hashlib.sha256(location.encode('utf-8')).hexdigest()[:10]}"


class Ledger:
    """Thread-safe access to the ledger file; every write is its own committed transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), timeout=30.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable across a killed process (WAL)
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)

    @classmethod
    def open(cls, settings: Settings) -> Ledger:
        return cls(settings.ledger_path)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- sources ---------------------------------------------------------------------------------

    def add_source(self, kind: str, location: str) -> Source:
        source = Source(source_id_for(kind, location), kind, location, time.time())
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO sources (source_id, kind, location, added_at) VALUES (?, ?, ?, ?)",
                (source.source_id, kind, location, source.added_at),
            )
        return self.source(source.source_id) or source

    def source(self, source_id: str) -> Source | None:
        with self._lock:
            row = self._db.execute("SELECT source_id, kind, location, added_at FROM sources WHERE source_id = ?", (source_id,)).fetchone()
        return Source(*row) if row else None

    def sources(self) -> list[Source]:
        with self._lock:
            rows = self._db.execute("SELECT source_id, kind, location, added_at FROM sources ORDER BY added_at").fetchall()
        return [Source(*row) for row in rows]

    def remove_source(self, source_id: str) -> bool:
        with self._tx() as db:
            return db.execute("DELETE FROM sources WHERE source_id = ?", (source_id,)).rowcount > 0

    # -- videos ----------------------------------------------------------------------------------

    def record_listed(self, ref: VideoRef) -> bool:
        """Store the source's view of a video; True when it is new or its fingerprint changed."""
        now = time.time()
        with self._tx() as db:
            row = db.execute("SELECT fingerprint, ref_json FROM videos WHERE video_id = ?", (ref.video_id,)).fetchone()
            ref_json = ref.to_json()
            if row is not None and row[0] == ref.fingerprint and row[1] == ref_json:
                return False
            db.execute(
                "INSERT INTO videos (video_id, source_id, ref_json, fingerprint, published, listed_at) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(video_id) DO UPDATE SET source_id=excluded.source_id, ref_json=excluded.ref_json, "
                "fingerprint=excluded.fingerprint, published=excluded.published, listed_at=excluded.listed_at",
                (ref.video_id, ref.source_id, ref_json, ref.fingerprint, ref.published, now),
            )
            self._set_stage(db, ref.video_id, "listed", DONE, ref.fingerprint, ref.fingerprint, ref.kind, now, now)
            return row is None or row[0] != ref.fingerprint

    def video(self, video_id: str) -> VideoRef | None:
        with self._lock:
            row = self._db.execute("SELECT ref_json FROM videos WHERE video_id = ?", (video_id,)).fetchone()
        return VideoRef.from_json(row[0]) if row else None

    def videos(self, source_id: str | None = None) -> list[VideoRef]:
        query = "SELECT ref_json FROM videos" + (" WHERE source_id = ?" if source_id else "") + " ORDER BY video_id"
        with self._lock:
            rows = self._db.execute(query, (source_id,) if source_id else ()).fetchall()
        return [VideoRef.from_json(row[0]) for row in rows]

    # -- stages ----------------------------------------------------------------------------------

    def stage(self, video_id: str, stage: str) -> StageRecord | None:
        with self._lock:
            row = self._db.execute(
                "SELECT video_id, stage, status, input_hash, output_hash, detail, attempts, last_error, retryable, "
                "next_attempt_at, started_at, finished_at, seconds FROM stages WHERE video_id = ? AND stage = ?",
                (video_id, stage),
            ).fetchone()
        return _record(row) if row else None

    def stages_of(self, video_id: str) -> dict[str, StageRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT video_id, stage, status, input_hash, output_hash, detail, attempts, last_error, retryable, "
                "next_attempt_at, started_at, finished_at, seconds FROM stages WHERE video_id = ?",
                (video_id,),
            ).fetchall()
        return {row[1]: _record(row) for row in rows}

    def all_stages(self) -> dict[str, dict[str, StageRecord]]:
        """Every stage row grouped by video, read in one query (the fast no-change sync path)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT video_id, stage, status, input_hash, output_hash, detail, attempts, last_error, retryable, "
                "next_attempt_at, started_at, finished_at, seconds FROM stages"
            ).fetchall()
        grouped: dict[str, dict[str, StageRecord]] = {}
        for row in rows:
            grouped.setdefault(row[0], {})[row[1]] = _record(row)
        return grouped

    def start(self, video_id: str, stage: str, input_hash: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO stages (video_id, stage, status, input_hash, attempts, started_at) VALUES (?, ?, ?, ?, 1, ?) "
                "ON CONFLICT(video_id, stage) DO UPDATE SET status=excluded.status, input_hash=excluded.input_hash, "
                "attempts=stages.attempts + 1, started_at=excluded.started_at",
                (video_id, stage, RUNNING, input_hash, time.time()),
            )

    def finish(self, video_id: str, stage: str, input_hash: str, output_hash: str, detail: str = "", status: str = DONE) -> None:
        now = time.time()
        with self._tx() as db:
            self._set_stage(db, video_id, stage, status, input_hash, output_hash, detail, None, now)

    def fail(self, video_id: str, stage: str, reason: str, retryable: bool, next_attempt_at: float | None) -> None:
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO stages (video_id, stage, status, attempts, last_error, retryable, next_attempt_at, finished_at) "
                "VALUES (?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT(video_id, stage) DO UPDATE SET status=excluded.status, "
                "last_error=excluded.last_error, retryable=excluded.retryable, next_attempt_at=excluded.next_attempt_at, "
                "finished_at=excluded.finished_at, seconds=excluded.finished_at - stages.started_at",
                (video_id, stage, FAILED, reason[:2000], int(retryable), next_attempt_at, now),
            )

    def reset_attempts(self, video_id: str, stage: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE stages SET attempts = 0, next_attempt_at = NULL WHERE video_id = ? AND stage = ?", (video_id, stage))

    @staticmethod
    def _set_stage(
        db: sqlite3.Connection,
        video_id: str,
        stage: str,
        status: str,
        input_hash: str,
        output_hash: str,
        detail: str,
        started_at: float | None,
        finished_at: float,
    ) -> None:
        db.execute(
            "INSERT INTO stages (video_id, stage, status, input_hash, output_hash, detail, attempts, last_error, retryable, "
            "next_attempt_at, started_at, finished_at, seconds) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, 1, NULL, ?, ?, 0) "
            "ON CONFLICT(video_id, stage) DO UPDATE SET status=excluded.status, input_hash=excluded.input_hash, "
            "output_hash=excluded.output_hash, detail=excluded.detail, attempts=0, last_error=NULL, retryable=1, "
            "next_attempt_at=NULL, finished_at=excluded.finished_at, "
            "seconds=excluded.finished_at - COALESCE(stages.started_at, excluded.finished_at)",
            (video_id, stage, status, input_hash, output_hash, detail, started_at, finished_at),
        )

    # -- reporting -------------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        with self._lock:
            rows = self._db.execute("SELECT stage, status, COUNT(*) FROM stages GROUP BY stage, status").fetchall()
        counts: dict[str, dict[str, int]] = {stage: {} for stage in STAGES}
        for stage, status, count in rows:
            counts.setdefault(stage, {})[status] = count
        return counts

    def failures(self) -> list[StageRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT video_id, stage, status, input_hash, output_hash, detail, attempts, last_error, retryable, "
                "next_attempt_at, started_at, finished_at, seconds FROM stages WHERE status = ? ORDER BY finished_at DESC",
                (FAILED,),
            ).fetchall()
        return [_record(row) for row in rows]

    def video_count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM videos").fetchone()[0])


def _record(row: tuple) -> StageRecord:
    values = list(row)
    values[8] = bool(values[8])
    return StageRecord(*values)


def ledger_status_lines(settings: Settings) -> list[str]:
    """What ``course-ta status`` prints about freshness: sources, counts per stage, failures."""
    if not settings.ledger_path.exists():
        return [f"ledger: none yet at {settings.ledger_path} (run `course-ta add-source` then `course-ta sync`)"]
    ledger = Ledger(settings.ledger_path)
    try:
        lines = [f"ledger: {settings.ledger_path} — {ledger.video_count()} video(s)"]
        for source in ledger.sources():
            lines.append(f"  source {source.source_id}: {source.kind} {source.location}")
        counts = ledger.counts()
        for stage in STAGES:
            by_status = counts.get(stage, {})
            shown = ", ".join(f"{status} {count}" for status, count in sorted(by_status.items())) or "none"
            lines.append(f"  {stage:<11} {shown}")
        models: dict[str, int] = {}
        for stages in ledger.all_stages().values():
            indexed = stages.get("indexed")
            detail = (indexed.detail or "") if indexed is not None and indexed.status == DONE else ""
            if EMBEDDED_WITH in detail:
                model = detail.rsplit(EMBEDDED_WITH, 1)[1]
                models[model] = models.get(model, 0) + 1
        for model, count in sorted(models.items()):  # more than one line: a model switch is still under way
            lines.append(f"  embedded with {model}: {count} video(s)")
        failures = ledger.failures()
        if failures:
            lines.append(f"  failures ({len(failures)}):")
            now = time.time()
            for record in failures[:50]:
                retry = "will not retry"
                if record.retryable and record.next_attempt_at is not None:
                    wait = max(0, int(record.next_attempt_at - now))
                    retry = f"retry in {wait}s" if wait else "retry due"
                lines.append(f"    {record.video_id} [{record.stage}] attempt {record.attempts}, {retry}: {record.last_error}")
            if len(failures) > 50:
                lines.append(f"    … and {len(failures) - 50} more")
        return lines
    finally:
        ledger.close()
