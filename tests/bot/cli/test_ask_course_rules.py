"""`course-ta ask --course X` answers under the course's rules, as the bots do: its LLM tokens count toward the
course's daily budget, a spent budget answers offline, hint mode withholds solutions; the per-minute rate
(a guard against chat floods) does not stop an instructor's batch."""

from __future__ import annotations

import io
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.main import main
from pipelines.courses.hints import WITHHELD
from pipelines.courses.limits import CourseLimits
from tests.fakes.openai_chat import ChatServer, Reply

QUESTION = "How do I do the retrieval assignment 2 ranking step?"
SOLUTION = (
    "Retrieval embeds the question and compares it with the chunks [1].\n"
    "```python\ndef solve(question, chunks):\n    return sorted(chunks, key=lambda c: -score(question, c))[:5]\n```\n"
    "answer = solve(q, index)\n"
    "Review how the passages are ranked [2]."
)
TOKENS_PER_CALL = 750  # what the scripted model reports for every completion


def _courses_file(data_dir: Path, policy: str) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    # Two courses; the policy table belongs to nlp (it follows nlp's table).
    text = f'[[course]]\nid = "nlp"\ntitle = "NLP"\n\n[course.policy]\n{policy}\n\n[[course]]\nid = "vision"\ntitle = "Vision"\n'
    (data_dir / "courses.toml").write_text(text, encoding="utf-8")


@pytest.fixture
def nlp_course(_sample_store: Path, tmp_path: Path) -> Path:
    """The deployment's data dir, with the sample course indexed as course ``nlp``."""
    data_dir = tmp_path / "data"
    shutil.copytree(_sample_store, data_dir / "courses" / "nlp" / "store")
    return data_dir


@pytest.fixture
def model(monkeypatch: pytest.MonkeyPatch) -> Iterator[ChatServer]:
    """A scripted OpenAI-compatible model that writes a solution with code, configured as the deployment's LLM."""
    with ChatServer(lambda body: Reply(SOLUTION, prompt_tokens=TOKENS_PER_CALL - 50, completion_tokens=50)) as server:
        monkeypatch.setenv("COURSE_TA_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("COURSE_TA_LLM_MODEL", "scripted")
        monkeypatch.setenv("COURSE_TA_LLM_TIMEOUT_S", "5")
        monkeypatch.setenv("COURSE_TA_LLM_MAX_RETRIES", "0")
        yield server


def _completions(server: ChatServer) -> int:
    return sum(path.endswith("/chat/completions") for path in server.paths)


def test_the_tokens_an_answer_spends_are_charged_to_the_course(
    nlp_course: Path, model: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _courses_file(nlp_course, "llm_daily_tokens = 1000000")
    assert main(["ask", "--course", "nlp", "--json", "What is reciprocal rank fusion?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["backend"]["answerer"] == "llm:scripted"
    calls = _completions(model)
    assert calls >= 1
    limits = CourseLimits.of_deployment(nlp_course)
    assert limits.tokens_spent("nlp") == calls * TOKENS_PER_CALL  # what `course-ta status` and the bots' budget read
    assert limits.tokens_spent("vision") == 0


def test_a_spent_budget_answers_offline_without_calling_the_model(
    nlp_course: Path, model: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _courses_file(nlp_course, "llm_daily_tokens = 1000")
    CourseLimits.of_deployment(nlp_course).spend("nlp", 1000)  # the bots spent today's budget
    assert main(["ask", "--course", "nlp", "--json", "What is reciprocal rank fusion?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["backend"]["answerer"] == "offline-extractive" and answer["grounded"]
    assert _completions(model) == 0
    assert CourseLimits.of_deployment(nlp_course).tokens_spent("nlp") == 1000


def test_a_batch_spends_up_to_the_budget_then_answers_offline_and_ignores_the_chat_rate(
    nlp_course: Path, model: ChatServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # One question a minute would refuse the second line in a chat; the budget lets the model answer once:
    # the budget is checked before each call, so the first call (750 tokens against a 700 budget) goes through, then none.
    _courses_file(nlp_course, "llm_daily_tokens = 700\nquestions_per_minute = 1")
    questions = ["What is reciprocal rank fusion?", "What is a triplet?", "How does BM25 score a passage?"]
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("\n".join(questions).encode()), encoding="utf-8"))
    assert main(["ask", "--course", "nlp", "--batch", "-"]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["question"] for a in answers] == questions  # every line answered: no per-minute refusal
    calls = _completions(model)
    assert calls >= 1
    llm = [a for a in answers if a["backend"]["answerer"] == "llm:scripted"]
    assert len(llm) == 1 and answers[0] is llm[0]
    assert {a["backend"]["answerer"] for a in answers[1:]} == {"offline-extractive"}
    assert CourseLimits.of_deployment(nlp_course).tokens_spent("nlp") == calls * TOKENS_PER_CALL


def test_hint_mode_withholds_the_solution_on_the_command_line(
    nlp_course: Path, model: ChatServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _courses_file(nlp_course, 'hint_topics = ["assignment 2"]')
    assert main(["ask", "--course", "nlp", QUESTION]) == 0
    out = capsys.readouterr().out
    assert "def solve" not in out and "answer = solve" not in out
    assert WITHHELD in out and "Sources:" in out  # the pointers to the lectures stay
    assert "Do NOT give the solution" in model.requests[-1]["messages"][0]["content"]
    # Another course of the deployment has no hint topics: the same question gets the model's text.
    shutil.copytree(nlp_course / "courses" / "nlp" / "store", nlp_course / "courses" / "vision" / "store")
    assert main(["ask", "--course", "vision", QUESTION]) == 0
    assert "def solve" in capsys.readouterr().out
