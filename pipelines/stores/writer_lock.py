"""The embedded index's inter-process writer lock: one save at a time, whoever the writer is.

``course-ta ingest``, the scheduler inside ``serve``/``schedule`` and ``course-ta remove`` may all run
at once; each holds this lock only while it merges its own changes into the file on disk and
replaces it (``PersistentInMemoryDocumentStore.save``), so they take turns for a second, not for a run.
The lock is an OS file lock (``filelock``: ``flock`` on Unix), released by the kernel when its holder
dies, so a killed writer never leaves the index locked. The holder writes its pid into the lock file,
so a writer that waited too long can say who holds it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from pipelines.stores.errors import StoreBusyError

LOCK_FILE = "documents.lock"
DEFAULT_TIMEOUT_S = 120.0


def _write_pid(descriptor: int) -> None:
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{os.getpid()}\n".encode("ascii"), 0)


class WriterLock:
    """Exclusive across processes and threads; waits up to ``timeout`` seconds, then raises ``StoreBusyError``."""

    def __init__(self, directory: Path, timeout: float = DEFAULT_TIMEOUT_S) -> None:
        self.path = directory / LOCK_FILE
        self.timeout = timeout
        self._threads = threading.Lock()  # flock is per open file: threads of one process take turns here first
        self._lock = FileLock(self.path, thread_local=False, preserve_lock_file=True, on_acquired=_write_pid)

    def holder(self) -> str:
        """The pid written by the process holding the lock, or "unknown"."""
        try:
            return self.path.read_text(encoding="ascii").strip() or "unknown"
        except OSError:
            return "unknown"

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Hold the lock for the body; raises ``StoreBusyError`` when another writer keeps it past ``timeout``."""
        if not self._threads.acquire(timeout=self.timeout if self.timeout >= 0 else -1):
            raise StoreBusyError(
                f"another thread of this process has been saving the index in {self.path.parent} for over {self.timeout:.0f}s"
            )
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                self._lock.acquire(timeout=self.timeout)
            except Timeout:
                raise StoreBusyError(
                    f"another ingest is running (pid {self.holder()}) and has held the index in {self.path.parent} for over "
                    f"{self.timeout:.0f}s; wait for it to finish (or stop it), then run the command again"
                ) from None
            try:
                yield
            finally:
                self._lock.release()
        finally:
            self._threads.release()
