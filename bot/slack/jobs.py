"""Where Slack's answer work runs, so that no listener thread ever waits for an answer.

The Slack listener only starts what the student sees (reaction, stream or placeholder) and hands
the question to this pool; the answer comes back as a future. When the AnswerService has its own
pool (``AnswerService.submit``) that one is used, so every front door shares one queue; otherwise a
local pool of ``COURSE_TA_SLACK_ANSWER_CONCURRENCY`` workers runs ``answer_stream``. Either way a
question that has to wait is told how many are ahead of it (``on_queued``), at once, and an LLM
answer's text reaches ``on_text`` while the model writes it (the shared pool streams it to every
student asking the same question at once).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

from bot.answering.service import AnswerService
from pipelines.domain import Answer, Turn

OnText = Callable[[str], None]
OnQueued = Callable[[int], object]
OnStart = Callable[[], object]


class AnswerJobs:
    """Submit a question, get a ``Future[Answer]``; ``on_queued(n_ahead)`` when it has to wait for a slot."""

    def __init__(self, service: AnswerService, workers: int) -> None:
        self.service = service
        self.workers = workers
        submit = getattr(service, "submit", None)
        self._shared: Callable[..., Future[Answer]] | None = submit if callable(submit) else None
        self._local = None if self._shared else ThreadPoolExecutor(max_workers=workers, thread_name_prefix="slack-answer")
        self._lock = threading.Lock()
        self._active = 0  # local jobs submitted and not finished (running + waiting)

    @property
    def shared(self) -> bool:
        """True when the AnswerService's own pool runs the answers."""
        return self._shared is not None

    def submit(
        self,
        question: str,
        history: Sequence[Turn],
        on_text: OnText,
        on_queued: OnQueued,
        on_start: OnStart,
        hint: str | None = None,
    ) -> Future[Answer]:
        """Queue ``question``; ``on_start`` runs when its answer work begins (after any wait); ``hint`` as in ``AnswerService.answer``."""
        if self._shared is not None:
            # The shared pool has no start hook: the first delta of text says the answer is under way.
            return self._shared(question, list(history), on_queued=on_queued, hint=hint, on_text=_first_calls(on_start, on_text))
        assert self._local is not None
        with self._lock:
            ahead = self._active - self.workers
            self._active += 1
        if ahead >= 0:
            on_queued(ahead)
        waited = ahead >= 0

        def job() -> Answer:
            try:
                if waited:
                    on_start()
                if hint:  # hint-mode answers are not streamed (a withheld solution must never show)
                    answer = self.service.answer(question, history, hint=hint)
                    on_text(answer.text)
                    return answer
                return self.service.answer_stream(question, history, on_text=on_text)
            finally:
                with self._lock:
                    self._active -= 1

        try:
            return self._local.submit(job)
        except RuntimeError:  # shut down: the pool takes no new work
            with self._lock:
                self._active -= 1
            raise

    def queue_depth(self) -> int:
        """Questions waiting for a slot now (not counting those being answered)."""
        if self._shared is not None:
            depth = getattr(self.service, "queue_depth", None)
            return int(depth()) if callable(depth) else 0
        with self._lock:
            return max(0, self._active - self.workers)

    def close(self, wait: bool = True) -> None:
        """Stop the local pool (``wait``: after the answers already submitted)."""
        if self._local is not None:
            self._local.shutdown(wait=wait)


def _first_calls(on_start: OnStart, on_text: OnText) -> OnText:
    """``on_text`` that runs ``on_start`` before the first delta (a shared pool has no start hook)."""
    started = threading.Event()

    def relay(delta: str) -> None:
        if not started.is_set():
            started.set()
            on_start()
        on_text(delta)

    return relay
