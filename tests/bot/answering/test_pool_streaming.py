"""LLM answers stream out of the shared answer pool: partial text before the answer is done, one
model request shared by students asking the same question at once (both see the text grow), the
cache still answering at once, and offline answers still coming whole.

The model is the OpenAI wire fake, stopped half-way through its reply until the test lets it go on,
driven by the real ``openai`` client; the index is the real sample course.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.answering.service import AnswerService
from pipelines.settings import load_settings
from tests.fakes.openai_chat import ChatServer, WritingModel, writing_model

QUESTION = "What is contrastive learning?"
# Longer than what is streamed before the hold, and citing the first passage so it counts as grounded.
REPLY = (
    "Contrastive learning trains the embedding model so that a question lands close to the passage that answers it "
    "and far from passages that do not. Each training example is a triplet: the question, a matching passage and a "
    "hard negative that looks similar but answers something else [1]."
)
HOLD_AFTER = 60  # characters the model writes before it stops until released


@pytest.fixture
def model() -> Iterator[WritingModel]:
    with writing_model(REPLY, HOLD_AFTER) as held:
        yield held


class Text:
    """What one student has been shown so far (deltas in order), and a way to wait for more."""

    def __init__(self) -> None:
        self.deltas: list[str] = []
        self._changed = threading.Condition()

    def __call__(self, delta: str) -> None:
        with self._changed:
            self.deltas.append(delta)
            self._changed.notify_all()

    @property
    def shown(self) -> str:
        with self._changed:
            return "".join(self.deltas)

    def wait_for(self, predicate: Callable[[str], bool], what: str, timeout: float = 60.0) -> str:
        with self._changed:
            if not self._changed.wait_for(lambda: predicate("".join(self.deltas)), timeout):
                raise AssertionError(f"timed out waiting for {what}; shown so far: {''.join(self.deltas)!r}")
            return "".join(self.deltas)


def llm_service(data_dir: Path, server: ChatServer, **overrides: Any) -> AnswerService:
    settings = load_settings(
        data_dir=data_dir, llm_base_url=server.base_url, llm_model="scripted", llm_timeout_s=150, llm_max_retries=0, **overrides
    )
    answers = AnswerService(settings)
    answers.warm_up()
    return answers


def test_an_llm_answer_streams_out_of_the_pool_after_its_wait_in_line(sample_data_dir: Path, model: WritingModel) -> None:
    answers = llm_service(sample_data_dir, model.server, answer_workers=1)
    busy = threading.Event()
    try:
        blocker = answers.pool.submit(busy.wait)
        places: list[int] = []
        text = Text()
        future = answers.submit(QUESTION, on_queued=places.append, on_text=text)
        assert places == [0], "the queue position is still told at once"
        assert text.shown == "" and not model.server.requests, "nothing is written while the question waits"
        busy.set()

        partial = text.wait_for(lambda shown: len(shown) >= HOLD_AFTER // 2, "text while the model is still writing")
        assert not future.done(), "the text arrives while the answer is still being written"
        assert REPLY.startswith(partial) and len(partial) < len(REPLY)

        model.release()
        answer = future.result(timeout=60)
        assert answer.answerer == "llm:scripted" and answer.grounded
        assert text.shown == answer.text, "the streamed deltas are exactly the answer"
        assert blocker.result(timeout=10)
    finally:
        busy.set()
        model.release()
        answers.close()


def test_the_same_question_asked_at_once_shares_one_stream_and_then_comes_from_the_cache(
    sample_data_dir: Path, model: WritingModel
) -> None:
    answers = llm_service(sample_data_dir, model.server, answer_workers=2)
    try:
        first_text = Text()
        first = answers.submit(QUESTION, on_text=first_text)
        first_text.wait_for(bool, "the first student's stream")

        second_text = Text()
        second = answers.submit("  what is CONTRASTIVE learning? ", on_text=second_text)
        # The second student is shown the text written so far at once, not a blank until the answer is done.
        assert second_text.shown and REPLY.startswith(second_text.shown)
        assert not second.done() and not first.done()

        model.release()
        mine, theirs = first.result(timeout=60), second.result(timeout=60)
        assert len(model.server.requests) == 1, "one model request for both students"
        assert first_text.shown == second_text.shown == mine.text == theirs.text
        assert theirs.question == "what is CONTRASTIVE learning?", "titled as the second student asked"

        third_text = Text()
        cached = answers.submit(QUESTION, on_text=third_text)
        assert cached.done(), "a cached answer comes back at once"
        assert cached.result().text == mine.text and third_text.deltas == [], "whole, through the Future"
        assert len(model.server.requests) == 1
    finally:
        model.release()
        answers.close()


def test_a_student_whose_message_breaks_does_not_stop_the_answer_for_the_others(sample_data_dir: Path, model: WritingModel) -> None:
    answers = llm_service(sample_data_dir, model.server)
    shown_to_broken: list[str] = []

    def broken(delta: str) -> None:
        shown_to_broken.append(delta)
        raise ConnectionError("this student's message is gone")

    try:
        first = answers.submit(QUESTION, on_text=broken)
        other = Text()
        second = answers.submit(QUESTION, on_text=other)
        model.release()
        answer = first.result(timeout=60)
        assert answer.answerer == "llm:scripted", "the LLM answer, not the offline fallback"
        assert second.result(timeout=60).text == answer.text == other.shown
        assert shown_to_broken, "the broken listener was called"
    finally:
        model.release()
        answers.close()


def test_an_offline_answer_comes_whole_through_the_future(sample_data_dir: Path) -> None:
    answers = AnswerService(load_settings(data_dir=sample_data_dir))
    answers.warm_up()
    text = Text()
    try:
        answer = answers.submit(QUESTION, on_text=text).result(timeout=60)
        assert answer.answerer == "offline-extractive" and answer.grounded
        assert text.deltas == [], "offline answers are not streamed: the front door finishes with the answer, as before"
    finally:
        answers.close()
