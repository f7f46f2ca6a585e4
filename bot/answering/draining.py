"""An AnswerService that knows which answers are in flight, so shutdown can wait for them.

On SIGTERM the service stops taking questions (a new one gets a polite "restarting" error through
the front door's usual error path) and waits until every answer already started is finished.
Every public way to ask (``answer``, ``answer_stream``: Discord and the CLI use the first, Slack the
second) runs through ``AnswerService._answer``, so tracking happens there and no entry point escapes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

from bot.answering.service import AnswerService, QuestionError
from pipelines.domain import Answer, Turn
from pipelines.settings import Settings
from pipelines.stores.document_store import StoreBundle

RESTARTING = "The assistant is restarting and can't take new questions right now. Please ask again in a minute."


class DrainingAnswerService(AnswerService):
    """Counts the answers being computed and, once :meth:`drain` is called, refuses new questions."""

    def __init__(self, settings: Settings, bundle: StoreBundle | None = None) -> None:
        super().__init__(settings, bundle)
        self._idle = threading.Condition()
        self._in_flight = 0
        self._draining = False
        self.answered = 0

    @property
    def in_flight(self) -> int:
        """Answers started and not yet returned (or raised) right now."""
        with self._idle:
            return self._in_flight

    @property
    def draining(self) -> bool:
        """True once :meth:`drain` was called: every new question is refused from then on."""
        with self._idle:
            return self._draining

    @contextmanager
    def _tracked(self) -> Iterator[None]:
        with self._idle:
            if self._draining:
                raise QuestionError(RESTARTING)
            self._in_flight += 1
            self._idle.notify_all()
        try:
            yield
        finally:
            with self._idle:
                self._in_flight -= 1
                self.answered += 1
                self._idle.notify_all()

    def _answer(self, question: str, history: Sequence[Turn], on_text: Callable[[str], None] | None, hint: str | None = None) -> Answer:
        with self._tracked():
            return super()._answer(question, history, on_text, hint)

    def drain(self, timeout: float) -> bool:
        """Refuse new questions; wait up to ``timeout`` s for those in flight. True when none is left."""
        with self._idle:
            self._draining = True
            self._idle.notify_all()
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)
