"""Hint mode: for a course's graded assignments, a model that tries to hand over the solution is overruled."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.answering.service import AnswerService
from bot.cli.demo import SAMPLE_COURSE
from pipelines.courses.hints import WITHHELD
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings
from tests.fakes.openai_chat import Reply
from tests.pipelines.llm.conftest import llm_settings

SOLUTION = (
    "Retrieval embeds the question and compares it with the chunks [1].\n"
    "```python\ndef solve(question, chunks):\n    return sorted(chunks, key=lambda c: -score(question, c))[:5]\n```\n"
    "answer = solve(q, index)\n"
    "Review how the passages are ranked [2]."
)


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    assert Ingestor(load_settings(data_dir=data)).ingest([SAMPLE_COURSE]).count("failed") == 0
    return data


def test_a_scripted_solution_is_withheld_and_the_model_told_not_to_solve(chat_server, indexed: Path) -> None:
    prompts: list[str] = []

    def model(body: dict) -> Reply:
        prompts.append(body["messages"][0]["content"])
        return Reply(SOLUTION)

    service = AnswerService(llm_settings(chat_server(model), data_dir=indexed))
    question = "How do I do the retrieval assignment 2 ranking step?"
    hinted = service.answer(question, hint="assignment 2")
    assert "Do NOT give the solution" in prompts[-1] and "assignment 2" in prompts[-1]
    assert "def solve" not in hinted.text and "answer = solve" not in hinted.text
    assert hinted.text.endswith(WITHHELD)
    assert hinted.grounded and hinted.citations  # the pointers to the lectures stay
    plain = service.answer(question)  # the same question outside hint mode is answered as the model wrote it
    assert "Do NOT give the solution" not in prompts[-1]
    assert "def solve" in plain.text


def test_hint_mode_answers_are_cached_apart_from_plain_ones(chat_server, indexed: Path) -> None:
    service = AnswerService(llm_settings(chat_server(lambda body: Reply(SOLUTION)), data_dir=indexed))
    question = "Explain the assignment 2 ranking"
    hinted = service.submit(question, hint="assignment 2").result(timeout=300)
    plain = service.submit(question).result(timeout=300)
    assert "def solve" not in hinted.text and "def solve" in plain.text
