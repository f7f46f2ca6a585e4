"""An AnswerService that knows which answers are in flight, so shutdown can wait for them.

On SIGTERM the service stops taking questions (a new one gets a polite "restarting" error through
the front door's usual error path) and waits until every answer already started is finished.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from bot.answering.service import AnswerService, QuestionError
from pipelines.domain import Answer

RESTARTING = "The assistant is restarting and can't take new questions right now. Please ask again in a minute."


class DrainingAnswerService(AnswerService):
    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self._idle = threading.Condition()
        self._in_flight = 0
        self._draining = False
        self.answered = 0

    @property
    def in_flight(self) -> int:
        with self._idle:
            return self._in_flight

    def answer(self, question: str, history: Sequence = ()) -> Answer:  # type: ignore[type-arg]
        with self._idle:
            if self._draining:
                raise QuestionError(RESTARTING)
            self._in_flight += 1
        try:
            return super().answer(question, history)
        finally:
            with self._idle:
                self._in_flight -= 1
                self.answered += 1
                self._idle.notify_all()

    def drain(self, timeout: float) -> bool:
        """Refuse new questions; wait up to ``timeout`` s for those in flight. True when none is left."""
        with self._idle:
            self._draining = True
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout=timeout)
