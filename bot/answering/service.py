"""AnswerService: the one place where a question becomes an :class:`Answer`.

Slack, Discord and the CLI all call :meth:`AnswerService.answer`; none of them knows about
pipelines, stores or models. The service validates the question, folds thread history into the
search for follow-ups, runs the query pipeline and returns the answer with its citations.
Models load once, in :meth:`warm_up`, so the first student does not wait for them.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence

from pipelines.domain import Answer, Turn
from pipelines.llm.llm_answerer import LLMAnswerer, StreamSink
from pipelines.search.query import build_query_pipeline, query_inputs
from pipelines.settings import Settings
from pipelines.stores.document_store import StoreBundle, open_store


class QuestionError(ValueError):
    """The question cannot be answered as asked (empty, too long); the message is for the user."""


# Follow-ups lean on the previous question: "what about the second one?", "and in PyTorch?"
_REFERRING = re.compile(r"\b(it|its|that|this|those|these|they|them|one|ones|same|above|previous|again|else|more)\b", re.I)
FOLLOW_UP_MAX_WORDS = 8


class AnswerService:
    """Validates a question, searches the lectures and returns the :class:`Answer` with its citations; thread-safe."""

    def __init__(self, settings: Settings, bundle: StoreBundle | None = None) -> None:
        self.settings = settings
        self.bundle = bundle or open_store(settings)
        self.pipeline = build_query_pipeline(settings, self.bundle)
        self._lock = threading.Lock()
        self._warm = False

    def warm_up(self) -> None:
        """Load the models once (idempotent), so the first question does not pay for it."""
        with self._lock:
            if not self._warm:
                if self.settings.serving_torch_threads:
                    import torch

                    torch.set_num_threads(self.settings.serving_torch_threads)
                self.pipeline.warm_up()
                self._warm = True

    def validate(self, question: str) -> str:
        """The question with whitespace collapsed; :class:`QuestionError` (for the user) when empty or too long."""
        cleaned = " ".join((question or "").split())
        if not cleaned:
            raise QuestionError("The question is empty. Ask something about the lectures, e.g. \u201cWhat is a tokenizer?\u201d")
        limit = self.settings.max_question_chars
        if len(cleaned) > limit:
            raise QuestionError(f"The question is {len(cleaned):,} characters long; the limit is {limit:,}. Please shorten it.")
        return cleaned

    def retrieval_query(self, question: str, history: Sequence[Turn]) -> str:
        """A short or referring follow-up is searched together with the question it follows."""
        if not history:
            return question
        if len(question.split()) <= FOLLOW_UP_MAX_WORDS or _REFERRING.search(question):
            return f"{history[-1].question} {question}"
        return question

    def answer(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """The answer to ``question``; ``history`` (earlier turns of the thread) steers follow-ups."""
        return self._answer(question, history, None)

    def answer_stream(self, question: str, history: Sequence[Turn] = (), on_text: Callable[[str], None] | None = None) -> Answer:
        """Like :meth:`answer`, and ``on_text`` receives the answer text as it is written.

        With an LLM the deltas arrive while the model writes (citation markers already numbered as
        in the final answer); offline, or when the LLM fails half-way and the offline answer is
        used instead, the returned :class:`Answer` is what counts: front doors replace the streamed
        preview with its text (offline, ``on_text`` gets the whole text once).
        """
        return self._answer(question, history, on_text)

    def _answer(self, question: str, history: Sequence[Turn], on_text: Callable[[str], None] | None) -> Answer:
        cleaned = self.validate(question)
        self.warm_up()
        if self.bundle.store.count_documents() == 0:
            return Answer(
                cleaned,
                "Nothing is indexed yet, so I can't answer from the lectures. Run `course-ta ingest PATH` first.",
                False,
                [],
                self.bundle.name,
                "none",
            )
        data = query_inputs(self.pipeline, cleaned, self.retrieval_query(cleaned, history))
        streamed = False
        if isinstance(self.pipeline.get_component("answerer"), LLMAnswerer):  # only an LLM uses thread history and streams
            data["answerer"]["history"] = list(history)
            if on_text is not None:
                data["answerer"]["on_text"] = StreamSink(on_text)
                streamed = True
        answer: Answer = self.pipeline.run(data)["answerer"]["answer"]
        if on_text is not None and not streamed:
            on_text(answer.text)
        return answer
