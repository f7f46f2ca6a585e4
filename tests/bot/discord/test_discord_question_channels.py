"""Answering without /ask in a course's question channels (``answer_without_mention_discord``): MESSAGE_CREATE payloads go
through discord.py's own parser, the replies and clips reach the local REST server, and chatter leaves no trace."""

from __future__ import annotations

import itertools
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from pipelines.courses.catalog import AnswerPolicy, Course, CourseCatalog, save_catalog
from tests.bot.discord.discord_payloads import GUILD_ID, LURKER_ID, STUDENT_ID, TEXT_CHANNEL_ID, member, reply_message, user
from tests.bot.discord.discord_scenario import Scenario
from tests.bot.discord.test_discord_courses import logged
from tests.fakes.discord_rest import BOT_USER_ID, message_object

RAG_QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"
OTHER_CHANNEL_ID = 931000000000000555  # a channel of the same server that is no question channel
PAUSED_CHANNEL_ID = 931000000000000666
_message_ids = itertools.count(945000000000000000)


def channel_message(
    content: str,
    *,
    channel_id: int = TEXT_CHANNEL_ID,
    author_id: int = STUDENT_ID,
    bot: bool = False,
    mentions: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A MESSAGE_CREATE for a plain message written in a server channel."""
    return message_object(
        str(next(_message_ids)),
        str(channel_id),
        user(author_id, "ada", bot),
        guild_id=str(GUILD_ID),
        content=content,
        member={k: v for k, v in member(author_id, "ada", bot).items() if k != "user"},
        mentions=mentions or [],
        **fields,
    )


def course_data(course_dir: Path, tmp_path: Path, *courses: Course) -> Path:
    """A data dir whose courses file holds ``courses``; the first one answers from the sample course's index."""
    data = tmp_path / "courses-data"
    save_catalog(CourseCatalog(courses=list(courses), path=data / "courses.toml"), data / "courses.toml")
    shutil.copytree(course_dir / "store", data / "courses" / courses[0].id / "store")
    return data


def answers_to(s: Scenario, message: dict[str, Any]) -> list[Any]:
    """The bot's messages replying to ``message``."""
    return [
        c
        for c in s.api.calls
        if c.method == "POST"
        and isinstance(c.payload, dict)
        and str((c.payload.get("message_reference") or {}).get("message_id")) == message["id"]
    ]


def answered_rows(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT COUNT(*) FROM answers").fetchone()[0])


@pytest.mark.timeout(900)
def test_a_question_in_a_question_channel_is_answered_text_first_then_the_clip(run_bot, course_dir: Path, tmp_path: Path) -> None:
    rag = Course(id="rag", title="Retrieval", policy=AnswerPolicy(answer_without_mention_discord=[str(TEXT_CHANNEL_ID)]))
    data = course_data(course_dir, tmp_path, rag)

    async def body(s: Scenario) -> None:
        question = channel_message(RAG_QUESTION)
        s.message(question)
        in_channel = f"/channels/{TEXT_CHANNEL_ID}/messages"
        await s.api.wait_for(lambda calls: sum(c.path == in_channel for c in calls) >= 2)
        reply, clip = [c for c in s.api.calls if c.path == in_channel][:2]
        # the answer replies to the student's message, without pinging them, with the sources linked to the second
        assert str(reply.payload["message_reference"]["message_id"]) == question["id"]
        assert reply.payload["allowed_mentions"]["replied_user"] is False
        embed = reply.payload["embeds"][0]
        assert "ct-rag-101" in "\n".join(f["value"] for f in embed.get("fields", [])) and "spoken answer follows" in embed["footer"]["text"]
        assert not reply.files
        # then the clip, as a voice message in the same channel
        assert reply.seq < clip.seq and clip.is_voice_message and clip.files[0].content_type == "audio/ogg"

        # logged like /ask answers: the student's message is the thread, the course is recorded
        row = await logged(data / "feedback.sqlite", question["id"])
        assert (row["platform"], row["course"], row["channel"], row["user"]) == ("discord", "rag", str(TEXT_CHANNEL_ID), str(STUDENT_ID))
        assert row["message"] == reply.response["id"]

        # a reply to that answer is a follow-up with the question's history, not a new question
        follow_up = reply_message("and what constant does it use?", int(reply.response["id"]))
        s.message(follow_up)
        await s.api.wait_for(lambda calls: bool(answers_to(s, follow_up)))
        assert any(m.endswith("with 1 earlier turn(s)") for _, m in s.log.events)

    run_bot(body, data_dir=data, courses_file=data / "courses.toml")


@pytest.mark.timeout(900)
def test_chatter_bots_other_channels_and_uncovered_questions_are_left_alone(run_bot, course_dir: Path, tmp_path: Path) -> None:
    rag = Course(id="rag", title="Retrieval", policy=AnswerPolicy(answer_without_mention_discord=[str(TEXT_CHANNEL_ID)]))
    data = course_data(course_dir, tmp_path, rag)

    async def body(s: Scenario) -> None:
        classmate = channel_message("anyone around?", author_id=LURKER_ID)
        ignored = {
            "chatter, not a question": channel_message("ok thanks, see you tomorrow"),
            "chatter, not a question ": channel_message(f"<@{BOT_USER_ID}> hi", mentions=[user(BOT_USER_ID, "course-ta", True)]),
            "from a bot or webhook": channel_message(RAG_QUESTION, author_id=BOT_USER_ID, bot=True),
            "a reply to someone else's message": channel_message(
                RAG_QUESTION,
                type=19,
                message_reference={"type": 0, "message_id": classmate["id"], "channel_id": str(TEXT_CHANNEL_ID), "guild_id": str(GUILD_ID)},
            ),
        }
        other_channel = channel_message(RAG_QUESTION, channel_id=OTHER_CHANNEL_ID)
        uncovered = channel_message("What time is the pizza party tonight?")
        for payload in [*ignored.values(), other_channel, uncovered]:
            s.message(payload)
        for why, payload in ignored.items():
            await s.until_logged(f"message {payload['id']} in a question channel ignored: {why.strip()}")
        await s.until_logged(f"message {other_channel['id']} ignored: it continues none of our answers")
        await s.until_logged(f"message {uncovered['id']} in channel {TEXT_CHANNEL_ID} left alone: the lectures don't cover it")
        # only the uncovered question was searched; nothing was posted anywhere, nothing logged as answered
        assert sum("answering" in m for _, m in s.log.events) == 1
        assert not [c for c in s.api.calls if c.method == "POST" and c.path.startswith("/channels/")]
        assert answered_rows(data / "feedback.sqlite") == 0

    run_bot(body, data_dir=data, courses_file=data / "courses.toml", voice_enabled=False)


@pytest.mark.timeout(900)
def test_the_course_desk_applies_pause_and_rate_limit_silently(run_bot, course_dir: Path, tmp_path: Path) -> None:
    rag = Course(
        id="rag",
        title="Retrieval",
        policy=AnswerPolicy(answer_without_mention_discord=[str(TEXT_CHANNEL_ID)], questions_per_minute=1),
    )
    bio = Course(id="bio", title="Biology", paused=True, policy=AnswerPolicy(answer_without_mention_discord=[str(PAUSED_CHANNEL_ID)]))
    data = course_data(course_dir, tmp_path, rag, bio)

    async def body(s: Scenario) -> None:
        first = channel_message(RAG_QUESTION)
        s.message(first)
        await s.api.wait_for(lambda calls: bool(answers_to(s, first)))
        second = channel_message("What does BM25 score when a term repeats?")
        paused = channel_message("Where do the light reactions of photosynthesis happen?", channel_id=PAUSED_CHANNEL_ID)
        s.message(second)
        s.message(paused)
        await s.until_logged(f"question {second['id']} in channel {TEXT_CHANNEL_ID} not answered: Retrieval is getting many questions")
        await s.until_logged(f"question {paused['id']} in channel {PAUSED_CHANNEL_ID} not answered: Biology is paused")
        assert not answers_to(s, second) and not answers_to(s, paused)
        assert not s.api.find("POST", f"/channels/{PAUSED_CHANNEL_ID}/")

    run_bot(body, data_dir=data, courses_file=data / "courses.toml", voice_enabled=False)
