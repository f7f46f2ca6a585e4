""" "Ask a TA" in a Discord deployment with two courses: the course of the answer (found through its message)
picks the TA channel, a course without one falls back to the deployment's, and the button shows only where
some TA channel will get the post. discord.py against the local REST server."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from bot.answering.escalations import EscalationLog
from bot.discord.escalation import ASKED, CUSTOM_ID
from pipelines.courses.catalog import Course, CourseCatalog, save_catalog
from tests.bot.discord.discord_payloads import STUDENT_ID, TEXT_CHANNEL_ID, button_interaction, command_interaction, option
from tests.bot.discord.discord_scenario import Scenario

QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"
RAG_TA = "935000000000000011"
DEPLOYMENT_TA = "935000000000000012"
TA_ROLE = "936000000000000001"


@pytest.fixture
def two_course_dir(course_dir: Path, tmp_path: Path) -> Path:
    """The test channel belongs to "rag", which names its own TA channel; "ml" has none (asked with ``course:ml``)."""
    data = tmp_path / "courses-data"
    rag = Course(id="rag", title="Retrieval", discord_channels=[str(TEXT_CHANNEL_ID)], ta_discord_channel=RAG_TA)
    ml = Course(id="ml", title="Machine learning")
    save_catalog(CourseCatalog(courses=[rag, ml], path=data / "courses.toml"), data / "courses.toml")
    for course in ("rag", "ml"):
        shutil.copytree(course_dir / "store", data / "courses" / course / "store")
    return data


def _ask_ta_id(payload) -> str | None:
    """The custom id of the Ask-a-TA button on an answer, if it has one."""
    ids = [item["custom_id"] for row in payload.get("components") or [] for item in row["components"]]
    return next((i for i in ids if i.startswith(CUSTOM_ID)), None)


async def _answer(s: Scenario, *options) -> object:
    ask = command_interaction("ask", [option("question", QUESTION), *options])
    s.interact(ask)
    return (await s.until(ask, 2))[1]


async def _press(s: Scenario, answer) -> None:
    press = button_interaction(_ask_ta_id(answer.payload), int(answer.response["id"]), answer.payload["components"])
    s.interact(press)
    assert (await s.until(press, 2))[1].payload["content"] == ASKED


def _posts(s: Scenario, channel: str) -> list:
    return s.api.find("POST", f"/channels/{channel}/messages")


@pytest.mark.timeout(900)
def test_each_course_escalates_to_its_own_ta_channel_else_the_deployments(run_bot, two_course_dir: Path) -> None:
    async def body(s: Scenario) -> None:
        rag_answer = await _answer(s)
        await _press(s, rag_answer)
        ml_answer = await _answer(s, option("course", "ml"))
        await _press(s, ml_answer)

        (rag_post,) = _posts(s, RAG_TA)
        (ml_post,) = _posts(s, DEPLOYMENT_TA)
        for post in (rag_post, ml_post):
            assert (
                post.payload["content"].startswith(f"<@&{TA_ROLE}> <@{STUDENT_ID}> asked for a TA") and QUESTION in post.payload["content"]
            )
            assert post.payload["allowed_mentions"]["roles"] == [int(TA_ROLE)] and post.payload["allowed_mentions"]["parse"] == []
        log = EscalationLog(two_course_dir / "feedback.sqlite")
        placed = {e.message: (e.course, e.ta_channel, e.ta_message) for e in await asyncio.to_thread(log.list)}
        assert placed == {
            rag_answer.response["id"]: ("rag", RAG_TA, str(rag_post.response["id"])),
            ml_answer.response["id"]: ("ml", DEPLOYMENT_TA, str(ml_post.response["id"])),
        }

    run_bot(
        body,
        data_dir=two_course_dir,
        courses_file=two_course_dir / "courses.toml",
        voice_enabled=False,
        console_ta_discord_channel=DEPLOYMENT_TA,
        console_ta_discord_role=TA_ROLE,
    )


@pytest.mark.timeout(900)
def test_the_button_shows_where_the_course_has_a_ta_channel(run_bot, two_course_dir: Path) -> None:
    async def body(s: Scenario) -> None:
        rag_answer = await _answer(s)  # no deployment-wide TA channel: the course's own is enough
        assert _ask_ta_id(rag_answer.payload) is not None
        assert _ask_ta_id((await _answer(s, option("course", "ml"))).payload) is None
        await _press(s, rag_answer)
        (post,) = _posts(s, RAG_TA)
        assert post.payload["content"].startswith(f"<@{STUDENT_ID}> asked for a TA in <#{TEXT_CHANNEL_ID}>")

    run_bot(body, data_dir=two_course_dir, courses_file=two_course_dir / "courses.toml", voice_enabled=False)
