"""/ask through discord.py's real parser and CommandTree, REST captured by the local server."""

from __future__ import annotations

import re

from tests.bot.discord.discord_payloads import command_interaction, option
from tests.bot.discord.discord_scenario import Scenario
from voice.encoding import decode, probe

QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"


def test_ask_defers_then_posts_cited_answer_with_playable_clip(run_bot) -> None:
    async def body(s: Scenario) -> None:
        payload = command_interaction("ask", [option("question", QUESTION)])
        s.interact(payload)
        calls = await s.until(payload, 2)
        callback, followup = calls[0], calls[1]
        # deferred (type 5: "thinking") before any slow work started
        assert callback.path.endswith("/callback") and callback.payload["type"] == 5
        assert callback.seq < s.log.first("answering") < followup.seq
        assert s.log.first("answering") < s.log.first("rendering a clip")

        assert followup.method == "POST" and followup.path.startswith("/webhooks/")
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
        assert "answered by" in embed["footer"]["text"] and "piper" in embed["footer"]["text"]

        clip = followup.files[0]
        assert clip.filename == "answer.ogg"
        assert body["attachments"][0]["filename"] == "answer.ogg"
        info = probe(clip.data)
        assert info.codec == "opus" and info.duration_s > 1.0
        assert decode(clip.data).duration_s > 1.0
        assert body["components"][0]["components"][0]["custom_id"].startswith("course-ta:play:")

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
