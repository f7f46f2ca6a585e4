"""A bounded worker pool that knows its queue: how many jobs wait, and where a new one stands in line.

Answers are CPU work (embedding the question and the retrieved sentences); one worker per core
answers that many students at once instead of one after another, and a job that has to wait learns
how many are ahead of it so a front door can say so ("queued, 2 ahead") instead of staying silent.
Jobs start in the order they were submitted (first in, first out).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


class WorkPool:
    """``workers`` threads; ``submit`` reports a job's place in the queue when every worker is busy.

    ``nice`` lowers the scheduling priority of the pool's threads (Linux), so work that may wait
    (voice clips) yields the cores to work that must not (answers).
    """

    def __init__(self, workers: int, name: str, *, nice: int = 0) -> None:
        if workers < 1:
            raise ValueError(f"a pool needs at least one worker, not {workers}")
        self.workers = workers
        self.name = name
        self._nice = nice
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name, initializer=self._lower_priority)
        self._lock = threading.Lock()
        self._active = 0  # submitted and not finished (running or waiting)
        self._waiting = 0  # submitted and not started

    def _lower_priority(self) -> None:
        if self._nice > 0 and hasattr(os, "setpriority"):
            try:  # on Linux a thread is a task with its own nice value
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
            except OSError as error:
                logger.debug("could not lower the priority of %s: %s", self.name, error)

    def submit(self, function: Callable[..., T], *args: Any, on_queued: Callable[[int], None] | None = None) -> Future[T]:
        """Run ``function(*args)`` on a worker; the Future holds its result or its exception.

        When every worker is busy, ``on_queued(n_ahead)`` is called before this returns, in the
        caller's thread, with the number of jobs waiting in front of this one (0: it starts next).
        """
        with self._lock:
            ahead = self._waiting if self._active >= self.workers else None
            self._active += 1
            self._waiting += 1
        try:
            future = self._executor.submit(self._run, function, args)
        except BaseException:
            with self._lock:
                self._active -= 1
                self._waiting -= 1
            raise
        if ahead is not None and on_queued is not None:
            try:
                on_queued(ahead)
            except Exception:  # telling the user is best effort; the job runs regardless
                logger.exception("on_queued callback failed")
        return future

    def _run(self, function: Callable[..., T], args: tuple[Any, ...]) -> T:
        with self._lock:
            self._waiting -= 1
        try:
            return function(*args)
        finally:
            with self._lock:
                self._active -= 1

    def queue_depth(self) -> int:
        """Jobs submitted and not yet started (0 while a worker is free)."""
        with self._lock:
            return self._waiting

    def busy(self) -> int:
        """Jobs running right now."""
        with self._lock:
            return self._active - self._waiting

    def shutdown(self, wait: bool = False) -> None:
        """Stop taking jobs; jobs not started are cancelled, running ones finish."""
        self._executor.shutdown(wait=wait, cancel_futures=True)
