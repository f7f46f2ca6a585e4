"""AnswerService: the one place where a question becomes an :class:`Answer`.

Slack, Discord and the CLI all call :meth:`AnswerService.answer`; none of them knows about
pipelines, stores or models. The service validates the question, folds thread history into the
search for follow-ups, runs the query pipeline and returns the answer with its citations.
Models load once, in :meth:`warm_up`, so the first student does not wait for them.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass

from bot.answering.answer_cache import AnswerCache, cache_key, index_version, settings_fingerprint
from bot.answering.answer_pool import WorkPool
from bot.answering.guards import clean_text
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
logger = logging.getLogger(__name__)


class AnswerService:
    """Validates a question, searches the lectures and returns the :class:`Answer` with its citations; thread-safe."""

    def __init__(self, settings: Settings, bundle: StoreBundle | None = None) -> None:
        self.settings = settings
        self.bundle = bundle or open_store(settings)
        self.pipeline = build_query_pipeline(settings, self.bundle)
        self._lock = threading.Lock()
        self._warm = False
        # The answer pool and cache (see submit): shared by every front door that holds this service.
        self.pool = WorkPool(settings.answer_pool_size, "course-ta-answer")
        self.cache = AnswerCache(settings.answer_cache_size, settings.answer_cache_ttl_s)
        self._fingerprint = settings_fingerprint(settings)
        self._pending: dict[str, _InFlight] = {}
        self._pending_lock = threading.RLock()  # a Future already done runs its callback (which takes this lock) inside submit

    def warm_up(self) -> None:
        """Load the models once (idempotent), so the first question does not pay for it."""
        with self._lock:
            if not self._warm:
                if self.settings.serving_torch_threads:
                    import torch

                    torch.set_num_threads(self.settings.serving_torch_threads)
                self.pipeline.warm_up()
                self._prime()
                self._warm = True

    def validate(self, question: str) -> str:
        """The question cleaned (control, invisible and undecodable characters dropped, whitespace collapsed);
        :class:`QuestionError` (for the user) when nothing readable is left or it is too long."""
        readable = clean_text(question)
        cleaned = readable.text
        if not cleaned and readable.removed:
            raise QuestionError(
                "The question has no readable text (only invisible characters or bytes that are not valid UTF-8). "
                "Ask something about the lectures, e.g. \u201cWhat is a tokenizer?\u201d"
            )
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

    def answer(self, question: str, history: Sequence[Turn] = (), hint: str | None = None) -> Answer:
        """The answer to ``question``; ``history`` (earlier turns of the thread) steers follow-ups.

        ``hint`` names a graded assignment the course answers in hint mode: an LLM explains and
        points to the lectures but never writes the solution (the offline answer only quotes lectures).
        """
        return self._answer(question, history, None, hint)

    def answer_stream(self, question: str, history: Sequence[Turn] = (), on_text: Callable[[str], None] | None = None) -> Answer:
        """Like :meth:`answer`, and ``on_text`` receives the answer text as it is written.

        With an LLM the deltas arrive while the model writes (citation markers already numbered as
        in the final answer); offline, or when the LLM fails half-way and the offline answer is
        used instead, the returned :class:`Answer` is what counts: front doors replace the streamed
        preview with its text (offline, ``on_text`` gets the whole text once).
        """
        return self._answer(question, history, on_text)

    def _answer(self, question: str, history: Sequence[Turn], on_text: Callable[[str], None] | None, hint: str | None = None) -> Answer:
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
            if hint:
                data["answerer"]["hint_topic"] = hint
            if on_text is not None:
                data["answerer"]["on_text"] = StreamSink(on_text)
                streamed = True
        answer: Answer = self.pipeline.run(data)["answerer"]["answer"]
        if on_text is not None and not streamed:
            on_text(answer.text)
        return answer

    # -- the answer pool and cache -------------------------------------------------------------

    def submit(
        self,
        question: str,
        history: Sequence[Turn] = (),
        on_queued: Callable[[int], None] | None = None,
        hint: str | None = None,
        on_text: Callable[[str], None] | None = None,
    ) -> Future[Answer]:
        """The answer to ``question`` as a Future, computed in the bounded answer pool (one worker per core).

        Every failure comes through the Future: :class:`QuestionError` (for the user) or whatever
        the search raised. A question answered before, in the same thread history, against the same
        index and settings, is answered from the cache (the Future is already done); the same
        question asked while it is being answered shares that answer. When every worker is busy,
        ``on_queued(n_ahead)`` is called in the caller's thread before this returns, with the number
        of questions waiting in front of this one (0: it is next). Reading the index version is a
        file stat for the embedded store and one count request for Elasticsearch. ``hint`` is as in
        :meth:`answer` (and part of the cache key).

        ``on_text`` receives an LLM answer's text as the model writes it, in the pool's worker
        thread (as :meth:`answer_stream`; the Future's answer is what counts in the end). A student
        who asks the question another is already being answered gets the same stream: the text
        written so far at once (in the caller's thread, before this returns), then every delta as
        it comes, so both see the answer grow, not one of them a finished answer out of nowhere.
        ``on_text`` is not called for an answer that comes whole: a cached answer (its Future is
        already done), an offline answer, a hint-mode answer (never streamed, see :meth:`answer`).
        """
        turns = list(history)
        try:
            cleaned = self.validate(question)
            fingerprint = f"{self._fingerprint}|hint:{hint}" if hint else self._fingerprint
            key = cache_key(cleaned, turns, index_version(self.bundle), fingerprint) if self.cache.enabled else None
        except Exception as error:
            return _failed(error)
        # Offline answers arrive whole: a front door finishes its message with the Future's answer, as before.
        streams = isinstance(self.pipeline.get_component("answerer"), LLMAnswerer)
        if key is None:
            return self.pool.submit(self._answer, cleaned, turns, on_text if streams else None, hint, on_queued=on_queued)
        cached = self.cache.get(key, cleaned)
        if cached is not None:
            done: Future[Answer] = Future()
            done.set_result(cached)
            return done
        with self._pending_lock:
            running = self._pending.get(key)
            if running is None:
                # An LLM answer always streams into its shared text, so a student who joins later sees it too.
                text = _SharedText([on_text] if on_text is not None else [])
                future = self.pool.submit(
                    self._answer_and_keep, cleaned, turns, key, hint, text.write if streams else None, on_queued=on_queued
                )
                self._pending[key] = _InFlight(future, text)
                future.add_done_callback(lambda _: self._forget_pending(key))
                return future
        if on_text is not None and streams:  # outside the service's lock: catching up may be a slow front-door call
            running.text.join(on_text)
        return _asked_as(running.future, cleaned)

    def queue_depth(self) -> int:
        """Questions waiting for a free worker of the answer pool right now."""
        return self.pool.queue_depth()

    def close(self) -> None:
        """Stop the answer pool: questions not started are cancelled, those being answered finish."""
        self.pool.shutdown(wait=False)

    def _answer_and_keep(
        self, question: str, history: list[Turn], key: str, hint: str | None = None, on_text: Callable[[str], None] | None = None
    ) -> Answer:
        answer = self._answer(question, history, on_text, hint)
        self.cache.put(key, answer)
        return answer

    def _forget_pending(self, key: str) -> None:
        with self._pending_lock:
            self._pending.pop(key, None)

    def _prime(self) -> None:
        """Build what the pipeline otherwise builds lazily on the first question, before questions run concurrently.

        The tokenizer sets its truncation and padding on first use (changing them while another
        thread encodes fails with "Already borrowed"), and the embedded store builds its vector
        matrix, BM25 index and filter masks on first use without a lock. Neither needs a lock once
        built, so answers run in parallel without one. A failure here is left for the first question.
        """
        try:
            embedding = self.pipeline.get_component("text_embedder").run(text="warm up")["embedding"]
            if self.bundle.name != "embedded" or self.bundle.store.count_documents() == 0:
                return
            names = set(self.pipeline.graph.nodes)
            if "dense_retriever" in names:
                self.pipeline.get_component("dense_retriever").run(query_embedding=embedding)
            if "bm25_retriever" in names:
                self.pipeline.get_component("bm25_retriever").run(query="warm up")
        except Exception as error:
            logger.warning("could not prepare the search before the first question: %s", error)


class _SharedText:
    """The text of one answer being written, passed on to every student waiting for that answer.

    Deltas reach each listener in order; one who joins late first gets the text so far in one
    piece. A listener that raises is logged and skipped: one student's broken message must not
    stop the answer, nor the stream of the others.
    """

    def __init__(self, listeners: list[Callable[[str], None]]) -> None:
        self._lock = threading.Lock()  # held while telling: a late joiner's catch-up never interleaves with a delta
        self._parts: list[str] = []
        self._listeners = listeners

    def write(self, delta: str) -> None:
        """A delta of the answer, for everyone listening now (and remembered for those who join later)."""
        with self._lock:
            self._parts.append(delta)
            for listener in self._listeners:
                _tell(listener, delta)

    def join(self, listener: Callable[[str], None]) -> None:
        """Add ``listener``: the text written so far at once, then every later delta."""
        with self._lock:
            so_far = "".join(self._parts)
            if so_far:
                _tell(listener, so_far)
            self._listeners.append(listener)


def _tell(listener: Callable[[str], None], text: str) -> None:
    try:
        listener(text)
    except Exception:
        logger.exception("a listener of a streamed answer failed; the answer goes on")


@dataclass
class _InFlight:
    """An answer being computed for one cache key: its Future, and its text as it is written."""

    future: Future[Answer]
    text: _SharedText


def _failed(error: BaseException) -> Future[Answer]:
    future: Future[Answer] = Future()
    future.set_exception(error)
    return future


def _asked_as(running: Future[Answer], question: str) -> Future[Answer]:
    """A Future for another student's identical question: the same answer, titled with their wording."""
    mine: Future[Answer] = Future()

    def copy_over(done: Future[Answer]) -> None:
        error = done.exception()
        if error is not None:
            mine.set_exception(error)
            return
        answer = copy.deepcopy(done.result())
        answer.question = question
        mine.set_result(answer)

    running.add_done_callback(copy_over)
    return mine
