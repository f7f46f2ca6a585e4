"""One SQLite file shared by threads: its schema is prepared once, then every call gets a short connection.

The answer log, the escalations table, the console's accounts, the courses' LLM budgets and the
students' last courses all work this way; a connection per call (committed on success, rolled back on
error, always closed) keeps them thread-safe without sharing a connection, and WAL lets readers (the
console, ``course-ta status``) never block the bots' writes. It lives in ``pipelines`` so that both
``pipelines`` (courses) and ``bot`` can use it.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class SqliteFile:
    """``connect()`` yields a connection to ``path`` inside a transaction, after ``prepare`` ran once on the file."""

    def __init__(self, path: Path, prepare: Callable[[sqlite3.Connection], object], *, wal: bool = True, dir_mode: int = 0o777) -> None:
        self.path = path
        self._prepare = prepare
        self._wal = wal
        self._dir_mode = dir_mode
        self._lock = threading.Lock()
        self._ready = False

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection in a transaction (committed when the block succeeds); closed afterwards."""
        with self._lock:
            if not self._ready:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=self._dir_mode)
                with sqlite3.connect(self.path, timeout=10.0) as db:
                    if self._wal:
                        db.execute("PRAGMA journal_mode=WAL")
                    self._prepare(db)
                self._ready = True
        db = sqlite3.connect(self.path, timeout=10.0)
        try:
            with db:
                yield db
        finally:
            db.close()
