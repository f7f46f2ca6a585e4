"""The ledger: a SQLite record of every source, every video and every stage of its processing.

Why SQLite and one row per (video, stage): each stage commits the moment it finishes, with the
hash of what it consumed and of what it produced. A restarted process (after Ctrl-C, a crash or
``kill -9``) compares those hashes with the current inputs and redoes only the stages whose inputs
changed or that never finished. WAL mode keeps every committed row across a killed process and
lets ``course-ta status`` read while a sync writes.

Stages: ``listed`` → ``transcript`` (fetched captions, transcript file or faster-whisper) →
``cleaned`` → ``summarized`` (skipped when summaries are off) → ``indexed``.

Sources are either scheduled (``course-ta add-source``: polled, and videos whose files are gone
are removed) or one-shot (``course-ta ingest PATH``: listed only when that command runs again, so
deleting a folder ingested once by hand never empties the index behind the user's back).
"""

from __future__ import annotations

import hashlib
import json
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
WORK_STAGES = STAGES[1:]  # what a pass runs for each listed video, in order
EMBEDDED_WITH = " embedded with "  # the indexed stage's detail ends with this and the embedding model
DONE, FAILED, RUNNING, SKIPPED, PENDING = "done", "failed", "running", "skipped", "pending"
SATISFIED = (DONE, SKIPPED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sources (
    source_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    location TEXT NOT NULL,
    added_at REAL NOT NULL,
    scheduled INTEGER NOT NULL DEFAULT 1
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
    warnings TEXT,
    PRIMARY KEY (video_id, stage)
);
CREATE INDEX IF NOT EXISTS stages_status ON stages (status, next_attempt_at);
"""
# Columns added after the first release: ledgers written by an older version gain them on open.
_ADDED_COLUMNS = (("sources", "scheduled", "INTEGER NOT NULL DEFAULT 1"), ("stages", "warnings", "TEXT"))
_STAGE_COLUMNS = (
    "video_id, stage, status, input_hash, output_hash, detail, attempts, last_error, retryable, "
    "next_attempt_at, started_at, finished_at, seconds, warnings"
)
_SOURCE_COLUMNS = "source_id, kind, location, added_at, scheduled"


@dataclass(frozen=True)
class Source:
    """Where videos come from; ``scheduled`` sources are polled, the others were ingested by hand."""

    source_id: str
    kind: str
    location: str
    added_at: float
    scheduled: bool = True


@dataclass(frozen=True)
class StageRecord:
    """One stage of one video as last recorded: what it consumed and produced, or why it failed."""

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
    warnings: tuple[str, ...] = ()

    def satisfied_by(self, input_hash: str) -> bool:
        """Finished (or deliberately skipped) for exactly this input: nothing to redo."""
        return self.status in SATISFIED and self.input_hash == input_hash


def source_id_for(kind: str, location: str) -> str:
    """Stable id of a source: the same kind and location always name the same source."""
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
        self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        for table, column, declaration in _ADDED_COLUMNS:
            present = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column in present:
                continue
            try:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
            except sqlite3.OperationalError:  # another process added it first
                if column not in {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}:
                    raise

    @classmethod
    def open(cls, settings: Settings) -> Ledger:
        """The ledger of the configured data dir."""
        return cls(settings.ledger_path)

    def close(self) -> None:
        """Close the connection; committed rows are already on disk."""
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

    def add_source(self, kind: str, location: str, scheduled: bool = True) -> Source:
        """Remember a source; adding a one-shot source again as scheduled starts polling it (never the reverse)."""
        source = Source(source_id_for(kind, location), kind, location, time.time(), scheduled)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO sources (source_id, kind, location, added_at, scheduled) VALUES (?, ?, ?, ?, ?)",
                (source.source_id, kind, location, source.added_at, int(scheduled)),
            )
            if scheduled:
                db.execute("UPDATE sources SET scheduled = 1 WHERE source_id = ?", (source.source_id,))
        return self.source(source.source_id) or source

    def source(self, source_id: str) -> Source | None:
        """The source with this id, if the ledger has it."""
        with self._lock:
            row = self._db.execute(f"SELECT {_SOURCE_COLUMNS} FROM sources WHERE source_id = ?", (source_id,)).fetchone()
        return _source(row) if row else None

    def sources(self, scheduled_only: bool = False) -> list[Source]:
        """Every source, oldest first; ``scheduled_only`` leaves out folders ingested by hand."""
        query = f"SELECT {_SOURCE_COLUMNS} FROM sources" + (" WHERE scheduled = 1" if scheduled_only else "") + " ORDER BY added_at"
        with self._lock:
            rows = self._db.execute(query).fetchall()
        return [_source(row) for row in rows]

    def remove_source(self, source_id: str) -> bool:
        """Forget the source row (its videos are removed by the engine first); True when it existed."""
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

    def remove_video(self, video_id: str) -> None:
        """Forget a video and every stage of it (after its documents left the index)."""
        with self._tx() as db:
            db.execute("DELETE FROM stages WHERE video_id = ?", (video_id,))
            db.execute("DELETE FROM videos WHERE video_id = ?", (video_id,))

    def video(self, video_id: str) -> VideoRef | None:
        """The source's last listing of this video."""
        with self._lock:
            row = self._db.execute("SELECT ref_json FROM videos WHERE video_id = ?", (video_id,)).fetchone()
        return VideoRef.from_json(row[0]) if row else None

    def videos(self, source_id: str | None = None) -> list[VideoRef]:
        """Every listed video (of one source when given), by video id."""
        query = "SELECT ref_json FROM videos" + (" WHERE source_id = ?" if source_id else "") + " ORDER BY video_id"
        with self._lock:
            rows = self._db.execute(query, (source_id,) if source_id else ()).fetchall()
        return [VideoRef.from_json(row[0]) for row in rows]

    # -- stages ----------------------------------------------------------------------------------

    def stage(self, video_id: str, stage: str) -> StageRecord | None:
        """One stage of one video, if it was ever started."""
        with self._lock:
            row = self._db.execute(f"SELECT {_STAGE_COLUMNS} FROM stages WHERE video_id = ? AND stage = ?", (video_id, stage)).fetchone()
        return _record(row) if row else None

    def stages_of(self, video_id: str) -> dict[str, StageRecord]:
        """Every recorded stage of one video, by stage name."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_STAGE_COLUMNS} FROM stages WHERE video_id = ?", (video_id,)).fetchall()
        return {row[1]: _record(row) for row in rows}

    def all_stages(self) -> dict[str, dict[str, StageRecord]]:
        """Every stage row grouped by video, read in one query (the fast no-change sync path)."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_STAGE_COLUMNS} FROM stages").fetchall()
        grouped: dict[str, dict[str, StageRecord]] = {}
        for row in rows:
            grouped.setdefault(row[0], {})[row[1]] = _record(row)
        return grouped

    def start(self, video_id: str, stage: str, input_hash: str) -> None:
        """Mark a stage running for this input and count the attempt."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO stages (video_id, stage, status, input_hash, attempts, started_at) VALUES (?, ?, ?, ?, 1, ?) "
                "ON CONFLICT(video_id, stage) DO UPDATE SET status=excluded.status, input_hash=excluded.input_hash, "
                "attempts=stages.attempts + 1, started_at=excluded.started_at",
                (video_id, stage, RUNNING, input_hash, time.time()),
            )

    def finish(
        self,
        video_id: str,
        stage: str,
        input_hash: str,
        output_hash: str,
        detail: str = "",
        status: str = DONE,
        warnings: tuple[str, ...] | list[str] = (),
    ) -> None:
        """Commit a finished stage; ``warnings`` are kept so a later run can show them without redoing it."""
        now = time.time()
        with self._tx() as db:
            self._set_stage(db, video_id, stage, status, input_hash, output_hash, detail, None, now, list(warnings))

    def fail(self, video_id: str, stage: str, reason: str, retryable: bool, next_attempt_at: float | None) -> None:
        """Record why a stage failed and when (if ever) to try it again."""
        now = time.time()
        with self._tx() as db:
            db.execute(
                "INSERT INTO stages (video_id, stage, status, attempts, last_error, retryable, next_attempt_at, finished_at) "
                "VALUES (?, ?, ?, 1, ?, ?, ?, ?) ON CONFLICT(video_id, stage) DO UPDATE SET status=excluded.status, "
                "last_error=excluded.last_error, retryable=excluded.retryable, next_attempt_at=excluded.next_attempt_at, "
                "finished_at=excluded.finished_at, seconds=excluded.finished_at - stages.started_at",
                (video_id, stage, FAILED, reason[:2000], int(retryable), next_attempt_at, now),
            )

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
        warnings: list[str] | None = None,
    ) -> None:
        db.execute(
            "INSERT INTO stages (video_id, stage, status, input_hash, output_hash, detail, attempts, last_error, retryable, "
            "next_attempt_at, started_at, finished_at, seconds, warnings) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, 1, NULL, ?, ?, 0, ?) "
            "ON CONFLICT(video_id, stage) DO UPDATE SET status=excluded.status, input_hash=excluded.input_hash, "
            "output_hash=excluded.output_hash, detail=excluded.detail, attempts=0, last_error=NULL, retryable=1, "
            "next_attempt_at=NULL, finished_at=excluded.finished_at, "
            "seconds=excluded.finished_at - COALESCE(stages.started_at, excluded.finished_at), warnings=excluded.warnings",
            (video_id, stage, status, input_hash, output_hash, detail, started_at, finished_at, json.dumps(warnings) if warnings else None),
        )

    # -- reporting -------------------------------------------------------------------------------

    def counts(self) -> dict[str, dict[str, int]]:
        """How many videos are in each status, per stage."""
        with self._lock:
            rows = self._db.execute("SELECT stage, status, COUNT(*) FROM stages GROUP BY stage, status").fetchall()
        counts: dict[str, dict[str, int]] = {stage: {} for stage in STAGES}
        for stage, status, count in rows:
            counts.setdefault(stage, {})[status] = count
        return counts

    def failures(self) -> list[StageRecord]:
        """Failed stages, most recent first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {_STAGE_COLUMNS} FROM stages WHERE status = ? ORDER BY finished_at DESC", (FAILED,)).fetchall()
        return [_record(row) for row in rows]

    def video_count(self) -> int:
        """How many videos the ledger knows."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM videos").fetchone()[0])


def _record(row: tuple) -> StageRecord:
    values = list(row)
    values[8] = bool(values[8])
    values[13] = tuple(json.loads(values[13])) if values[13] else ()
    return StageRecord(*values)


def _source(row: tuple) -> Source:
    return Source(row[0], row[1], row[2], row[3], bool(row[4]))


def ledger_status_lines(settings: Settings) -> list[str]:
    """What ``course-ta status`` prints about freshness: sources, counts per stage, failures."""
    if not settings.ledger_path.exists():
        return [f"ledger: none yet at {settings.ledger_path} (run `course-ta add-source` then `course-ta sync`)"]
    ledger = Ledger(settings.ledger_path)
    try:
        lines = [f"ledger: {settings.ledger_path} — {ledger.video_count()} video(s)"]
        for source in ledger.sources():
            note = "" if source.scheduled else " (ingested by hand; not polled)"
            lines.append(f"  source {source.source_id}: {source.kind} {source.location}{note}")
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
