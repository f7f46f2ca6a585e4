"""/ask through discord.py's real parser and CommandTree, REST captured by the local server."""

from __future__ import annotations

import base64
import re

import pytest

from tests.bot.discord.discord_payloads import command_interaction, option
from tests.bot.discord.discord_scenario import Scenario
from voice.encoding import decode, probe

QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"


def test_ask_defers_then_posts_the_cited_text_then_the_clip_as_a_voice_message(run_bot) -> None:
    async def body(s: Scenario) -> None:
        payload = command_interaction("ask", [option("question", QUESTION)])
        s.interact(payload)
        calls = await s.until(payload, 3)
        callback, followup, voice = calls[0], calls[1], calls[2]
        # deferred (type 5: "thinking") before any slow work started
        assert callback.path.endswith("/callback") and callback.payload["type"] == 5
        assert callback.seq < s.log.first("answering") < followup.seq
        assert s.log.first("answering") < s.log.first("rendering a clip")

        # the text first, on its own: nothing in it waits for the clip
        assert followup.method == "POST" and followup.path.startswith("/webhooks/")
        assert not followup.files and not followup.is_voice_message
        body = followup.payload
        embed = body["embeds"][0]
        assert embed["title"] == QUESTION
        assert "reciprocal rank" in embed["description"].lower() or "rrf" in embed["description"].lower()
        sources = "\n".join(f["value"] for f in embed["fields"] if f["name"].startswith("Sources"))
        links = re.findall(r"\[(\d+:\d\d) · ([^\]]+)\]\(([^)]+)\)", sources)
        assert links, sources
        for stamp, _title, url in links:
            minutes, seconds = map(int, stamp.split(":"))
            assert url.endswith(f"#t={minutes * 60 + seconds}")  # the link jumps to the cited second
        assert "ct-rag-101" in sources
        assert "answered by" in embed["footer"]["text"] and "spoken answer follows" in embed["footer"]["text"]
        assert body["components"][0]["components"][0]["custom_id"].startswith("course-ta:play:")

        # then the clip, as a voice message on the same interaction's followup webhook
        assert followup.seq < voice.seq and voice.path == followup.path and voice.is_voice_message
        (clip,) = voice.files
        assert clip.content_type == "audio/ogg" and clip.filename.endswith(".ogg")
        info = probe(clip.data)
        assert info.codec == "opus" and info.duration_s > 1.0
        audio = decode(clip.data)
        (entry,) = voice.payload["attachments"]
        assert entry["duration_secs"] == pytest.approx(audio.duration_s, abs=0.02)
        points = base64.b64decode(entry["waveform"])
        assert 1 <= len(points) <= 256 and max(points) == 255
        assert voice.response["attachments"][0]["waveform"] == entry["waveform"]  # Discord kept the metadata

    run_bot(body)


def test_empty_question_is_refused_at_once_with_an_ephemeral_message(run_bot) -> None:
    async def body(s: Scenario) -> None:
        payload = command_interaction("ask", [option("question", "   ")])
        s.interact(payload)
        (reply,) = await s.until(payload, 1)
        assert reply.payload["type"] == 4  # an immediate message, not a deferral
        assert reply.payload["data"]["flags"] & 64  # ephemeral
        assert "empty" in reply.payload["data"]["embeds"][0]["description"]
        assert not any("answering" in m for _, m in s.log.events)

    run_bot(body)


def test_ask_as_a_user_installed_app_in_a_dm_answers_and_sends_the_clip(run_bot) -> None:
    async def body(s: Scenario) -> None:
        payload = command_interaction("ask", [option("question", QUESTION)], guild_id=None)  # context 1: a DM, user install
        s.interact(payload)
        calls = await s.until(payload, 3)
        assert calls[0].payload["type"] == 5 and calls[1].payload["embeds"][0]["title"] == QUESTION and calls[2].is_voice_message

    run_bot(body)
