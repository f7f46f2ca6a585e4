"""Routing questions to courses, per-course limits and budgets, and hint mode's solution filter."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.courses.catalog import AnswerPolicy, Course, CourseCatalog, implicit_catalog
from pipelines.courses.hints import WITHHELD, hint_topic, withhold_solution
from pipelines.courses.limits import CourseLimits
from pipelines.courses.routing import CourseRouter

NLP = Course(id="nlp", title="NLP", slack_channels=["C0NLP"], discord_channels=["111111111111111111"])
VISION = Course(id="vision", title="Vision", slack_channels=["C0VIS"], discord_guilds=["222222222222222222"])


@pytest.fixture
def router(tmp_path: Path) -> CourseRouter:
    return CourseRouter(CourseCatalog(courses=[NLP, VISION], path=tmp_path / "courses.toml"), tmp_path / "routes.sqlite")


def test_channels_and_servers_map_to_their_course(router: CourseRouter) -> None:
    assert router.slack("U1", "C0NLP", "what is attention?").course == NLP
    assert router.slack("U1", "C0VIS", "what is a convolution?").course == VISION
    assert router.discord("U1", "999", "111111111111111111", "q").course == NLP
    assert router.discord("U1", "222222222222222222", "333", "q").course == VISION


def test_a_dm_asks_which_course_then_remembers_the_choice(router: CourseRouter) -> None:
    first = router.slack("U2", "D0DM", "what is attention?", direct=True)
    assert first.course is None and "`nlp`" in first.ask_which and "`vision`" in first.ask_which
    chosen = router.slack("U2", "D0DM", "[vision] what is a convolution?", direct=True)
    assert chosen.course == VISION and chosen.question == "what is a convolution?"
    later = router.slack("U2", "D0DM", "and pooling?", direct=True)
    assert later.course == VISION and later.how == "last course"
    assert router.slack("U3", "D0DM", "q", direct=True).course is None  # another student has no last course


def test_asking_in_a_course_channel_becomes_the_last_course(router: CourseRouter) -> None:
    router.slack("U4", "C0NLP", "q")
    assert router.slack("U4", "D0DM", "a follow-up", direct=True).course == NLP


def test_an_unknown_prefix_is_part_of_the_question(router: CourseRouter) -> None:
    route = router.slack("U5", "D0DM", "[history] who won?", direct=True)
    assert route.course is None


def test_discord_course_option_wins_and_unknown_options_are_explained(router: CourseRouter) -> None:
    assert router.discord("U6", "222222222222222222", "333", "q", explicit="nlp").course == NLP
    refused = router.discord("U6", None, None, "q", explicit="history")
    assert refused.course is None and "no course 'history'" in refused.ask_which
    assert [c.id for c in router.choices("v")] == ["vision"]


def test_one_course_deployments_route_everything_to_it(tmp_path: Path) -> None:
    router = CourseRouter(implicit_catalog())
    assert router.slack("U1", "D0DM", "q", direct=True).course is not None
    assert router.discord("U1", None, None, "q").course is not None


def test_forget_removes_the_remembered_course(router: CourseRouter) -> None:
    router.slack("U7", "C0NLP", "q")
    assert router.forget("slack:U7") == 1
    assert router.recall("slack:U7") is None


def test_rate_limit_and_pause_are_per_course(tmp_path: Path) -> None:
    limits = CourseLimits(tmp_path / "limits.sqlite")
    busy = Course(id="busy", title="Busy", policy=AnswerPolicy(questions_per_minute=2))
    calm = Course(id="calm", title="Calm", policy=AnswerPolicy(questions_per_minute=2))
    assert limits.refusal(busy) is None and limits.refusal(busy) is None
    assert "2 a minute" in (limits.refusal(busy) or "")
    assert limits.refusal(calm) is None  # the other course is unaffected
    assert "paused" in (limits.refusal(Course(id="off", title="Off", paused=True)) or "")


def test_llm_budget_stops_one_course_and_not_the_other(tmp_path: Path) -> None:
    path = tmp_path / "limits.sqlite"
    nlp = Course(id="nlp", title="NLP", policy=AnswerPolicy(llm_daily_tokens=1000))
    vision = Course(id="vision", title="Vision", policy=AnswerPolicy(llm_daily_tokens=1000))
    CourseLimits(path).spend("nlp", 600, day="2026-11-30")
    CourseLimits(path).spend("nlp", 500, day="2026-11-30")  # another process, same file
    limits = CourseLimits(path)
    assert limits.tokens_spent("nlp", "2026-11-30") == 1100
    assert not limits.llm_allowed(nlp, "2026-11-30")
    assert limits.llm_allowed(vision, "2026-11-30")
    assert limits.llm_allowed(nlp, "2026-12-01")  # a new day, a new budget


def test_hint_topics_match_whole_words_case_insensitively() -> None:
    topics = ["Assignment 2", "backprop homework"]
    assert hint_topic("How do I solve ASSIGNMENT 2 part b?", topics) == "Assignment 2"
    assert hint_topic("help with my backprop   homework", topics) == "backprop homework"
    assert hint_topic("what about assignment 23?", topics) is None
    assert hint_topic("what is backprop?", topics) is None


def test_solutions_are_withheld_and_explanations_kept() -> None:
    reply = (
        "Attention weighs tokens by similarity [1].\n"
        "```python\ndef solve(x):\n    return x @ x.T\n```\n"
        "result = softmax(q @ k.T)\n"
        "See the lecture on self-attention [2]."
    )
    kept, withheld = withhold_solution(reply)
    assert withheld
    assert "def solve" not in kept and "softmax(q" not in kept
    assert "Attention weighs tokens by similarity [1]." in kept and "[2]" in kept
    assert kept.endswith(WITHHELD)
    plain, untouched = withhold_solution("Gradient descent follows the slope downhill [1].")
    assert not untouched and plain == "Gradient descent follows the slope downhill [1]."
