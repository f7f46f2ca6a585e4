"""/ask in a deployment with two courses: the channel's course answers, the ``course`` option overrides, private courses reply ephemerally."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from pipelines.courses.catalog import AnswerPolicy, Course, CourseCatalog, save_catalog
from pipelines.courses.course_settings import settings_for
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings
from tests.bot.discord.discord_payloads import GUILD_ID, STUDENT_ID, TEXT_CHANNEL_ID, command_interaction, option, reply_message
from tests.bot.discord.discord_scenario import Scenario

RAG_QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"
BIO_SRT = """1
00:00:00,000 --> 00:00:06,000
Photosynthesis turns light, water and carbon dioxide into glucose and oxygen.

2
00:00:06,000 --> 00:00:12,000
The light reactions happen in the thylakoid membranes of the chloroplast.

3
00:00:12,000 --> 00:00:18,000
The Calvin cycle then fixes carbon dioxide into sugars in the stroma.
"""


@pytest.fixture
def two_course_dir(course_dir: Path, tmp_path: Path) -> Path:
    """A data dir whose courses file maps the test channel to "bio" and makes "rag" (the sample course) private."""
    data = tmp_path / "courses-data"
    rag = Course(id="rag", title="Retrieval", policy=AnswerPolicy(private_answers=True))
    bio = Course(id="bio", title="Biology", discord_channels=[str(TEXT_CHANNEL_ID)])
    save_catalog(CourseCatalog(courses=[rag, bio], path=data / "courses.toml"), data / "courses.toml")
    shutil.copytree(course_dir / "store", data / "courses" / "rag" / "store")
    lectures = tmp_path / "bio-lectures"
    lectures.mkdir()
    (lectures / "photosynthesis.srt").write_text(BIO_SRT, encoding="utf-8")
    base = load_settings(data_dir=data, deployment=True)
    assert Ingestor(settings_for(base, bio)).ingest([lectures]).count("added") == 1
    return data


async def logged(path: Path, thread: str, timeout: float = 30.0) -> dict:
    """The answer-log row whose thread is ``thread`` (the log is written just after the answer is posted)."""
    for _ in range(int(timeout / 0.05)):
        if path.exists():
            db = sqlite3.connect(path)
            db.row_factory = sqlite3.Row
            try:
                row = db.execute("SELECT * FROM answers WHERE thread = ?", (thread,)).fetchone()
            finally:
                db.close()
            if row is not None:
                return dict(row)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no answer logged for {thread}")


def embed_text(call) -> str:
    embed = call.payload["embeds"][0] if "embeds" in call.payload else call.payload["data"]["embeds"][0]
    return f"{embed.get('description', '')}\n" + "\n".join(f["value"] for f in embed.get("fields", []))


@pytest.mark.timeout(900)
def test_the_channel_course_answers_and_the_course_option_overrides_it(run_bot, two_course_dir: Path) -> None:
    async def body(s: Scenario) -> None:
        in_bio = command_interaction("ask", [option("question", "Where do the light reactions of photosynthesis happen?")])
        s.interact(in_bio)
        calls = await s.until(in_bio, 2)
        assert calls[0].payload["type"] == 5 and not calls[0].payload.get("data", {}).get("flags", 0) & 64  # bio is public
        assert "thylakoid" in embed_text(calls[1]).lower()
        assert "ct-rag" not in embed_text(calls[1])

        # the sample course's own question asked in the bio channel is never answered from the rag lectures
        rag_in_bio = command_interaction("ask", [option("question", RAG_QUESTION)])
        s.interact(rag_in_bio)
        assert "ct-rag" not in embed_text((await s.until(rag_in_bio, 2))[1])

        # the course option sends it to rag, which answers privately
        chosen = command_interaction("ask", [option("question", RAG_QUESTION), option("course", "rag")])
        s.interact(chosen)
        calls = await s.until(chosen, 2)
        assert calls[0].payload["type"] == 5 and calls[0].payload["data"]["flags"] & 64  # an ephemeral deferral
        assert "ct-rag-101" in embed_text(calls[1])
        assert calls[1].payload.get("flags", 0) & 64

        # every answer is in the answer log, like Slack's: course, channel, the interaction as thread, student, message
        log = two_course_dir / "feedback.sqlite"
        bio_row = await logged(log, in_bio["id"])
        assert (bio_row["platform"], bio_row["course"], bio_row["channel"], bio_row["user"]) == (
            "discord",
            "bio",
            str(TEXT_CHANNEL_ID),
            str(STUDENT_ID),
        )
        assert bio_row["question"].startswith("Where do the light reactions") and bio_row["grounded"] == 1
        assert bio_row["message"] and bio_row["asked_at"] <= bio_row["created_at"]
        assert bio_row["embedding"] and bio_row["embedding_model"]  # the question's vector, kept for the console
        assert (await logged(log, chosen["id"]))["course"] == "rag"

        # a reply to an answer is a follow-up, and it is logged too, with the student's message as its thread
        follow_up = reply_message("and where does the Calvin cycle happen?", int(bio_row["message"]))
        s.message(follow_up)
        follow_row = await logged(log, follow_up["id"], timeout=120)
        assert (follow_row["platform"], follow_row["channel"], follow_row["user"]) == ("discord", str(TEXT_CHANNEL_ID), str(STUDENT_ID))
        assert follow_row["question"] == "and where does the Calvin cycle happen?" and follow_row["message"]

    run_bot(body, data_dir=two_course_dir, courses_file=two_course_dir / "courses.toml", voice_enabled=False)


@pytest.mark.timeout(900)
def test_a_dm_without_a_course_is_asked_which_course(run_bot, two_course_dir: Path) -> None:
    async def body(s: Scenario) -> None:
        dm = command_interaction("ask", [option("question", RAG_QUESTION)], guild_id=None, channel_id=931000000000000777)
        s.interact(dm)
        (reply,) = await s.until(dm, 1)
        assert reply.payload["type"] == 4 and reply.payload["data"]["flags"] & 64
        assert "Which course" in reply.payload["data"]["embeds"][0]["description"]
        unknown = command_interaction("ask", [option("question", RAG_QUESTION), option("course", "history")], guild_id=GUILD_ID)
        s.interact(unknown)
        (reply,) = await s.until(unknown, 1)
        assert "no course 'history'" in reply.payload["data"]["embeds"][0]["description"]

    run_bot(body, data_dir=two_course_dir, courses_file=two_course_dir / "courses.toml", voice_enabled=False)
