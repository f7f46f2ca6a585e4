"""Guards, the failure path, /summary with autocomplete, /sources, follow-ups, limits, invite URL."""

from __future__ import annotations

import socket
from urllib.parse import parse_qs, urlparse

import pytest

from bot.answering.service import AnswerService
from bot.cli.main import main
from bot.discord.embeds import DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT, VoiceNote, answer_embeds
from bot.discord.text_split import split_text
from pipelines.domain import Answer, Citation, format_timestamp
from pipelines.llm.summaries import load_summary
from pipelines.settings import load_settings
from tests.bot.discord.discord_payloads import GUILD_ID, OTHER_GUILD_ID, TEXT_CHANNEL_ID, command_interaction, option, reply_message
from tests.bot.discord.discord_scenario import Scenario
from tests.fakes.discord_rest import BOT_USER_ID


def test_guild_allow_list_refuses_other_servers_with_a_clear_ephemeral_reply(run_bot) -> None:
    async def body(s: Scenario) -> None:
        outside = command_interaction("ask", [option("question", "What is BM25?")], guild_id=OTHER_GUILD_ID)
        s.interact(outside)
        (reply,) = await s.until(outside, 1)
        assert reply.payload["type"] == 4 and reply.payload["data"]["flags"] & 64
        assert "not enabled in this server" in reply.payload["data"]["embeds"][0]["description"]
        inside = command_interaction("ask", [option("question", "What is BM25?")])
        s.interact(inside)
        calls = await s.until(inside, 2)
        assert calls[0].payload["type"] == 5 and calls[1].payload["embeds"][0]["title"] == "What is BM25?"
        assert sum("answering" in m for _, m in s.log.events) == 1  # the refused one did no work

    run_bot(body, discord_allowed_guilds=str(GUILD_ID), discord_allowed_channels=str(TEXT_CHANNEL_ID))


def test_channel_allow_list_names_where_to_ask(run_bot) -> None:
    async def body(s: Scenario) -> None:
        elsewhere = command_interaction("summary", [option("video", "ct-rag-101")], channel_id=TEXT_CHANNEL_ID + 50)
        s.interact(elsewhere)
        (reply,) = await s.until(elsewhere, 1)
        assert f"<#{TEXT_CHANNEL_ID}>" in reply.payload["data"]["embeds"][0]["description"]

    run_bot(body, discord_allowed_channels=str(TEXT_CHANNEL_ID))


def test_per_user_cooldown(run_bot) -> None:
    async def body(s: Scenario) -> None:
        first = command_interaction("summary", [option("video", "ct-rag-101")])
        s.interact(first)
        await s.until(first, 2)
        second = command_interaction("ask", [option("question", "And BM25?")])
        s.interact(second)
        (reply,) = await s.until(second, 1)
        assert reply.payload["type"] == 4 and reply.payload["data"]["flags"] & 64
        assert "try again in" in reply.payload["data"]["embeds"][0]["description"]
        other_user = command_interaction("ask", [option("question", "What is BM25?")], user_id=932000000000000777)
        s.interact(other_user)
        assert (await s.until(other_user, 2))[0].payload["type"] == 5  # the cooldown is per user

    run_bot(body, discord_cooldown_seconds=600)


def test_bots_are_ignored(run_bot) -> None:
    async def body(s: Scenario) -> None:
        robot = command_interaction("ask", [option("question", "What is BM25?")], bot=True)
        s.interact(robot)
        (reply,) = await s.until(robot, 1)
        assert "Bots can't" in reply.payload["data"]["embeds"][0]["description"]

    run_bot(body)


def test_a_failing_answerer_gets_a_clear_message_not_silence(run_bot, course_dir) -> None:
    with socket.socket() as probe:  # a port nothing listens on: the store is unreachable
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    broken = AnswerService(load_settings(data_dir=course_dir / "es", elasticsearch_url=f"http://127.0.0.1:{port}"))

    async def body(s: Scenario) -> None:
        ask = command_interaction("ask", [option("question", "What is BM25?")])
        s.interact(ask)
        calls = await s.until(ask, 2)
        assert calls[0].payload["type"] == 5
        text = calls[1].payload["embeds"][0]["description"]
        assert "couldn't search the lectures" in text and "unreachable" in text
        assert not calls[1].files

    run_bot(body, service_override=broken)


def test_summary_autocompletes_titles_and_shows_key_moments(run_bot) -> None:
    async def body(s: Scenario) -> None:
        typing = command_interaction("summary", [option("video", "contr", focused=True)], autocomplete=True)
        s.interact(typing)
        (choices,) = await s.until(typing, 1)
        assert choices.payload["type"] == 8
        assert [c["value"] for c in choices.payload["data"]["choices"]] == ["ct-contrastive-201"]
        everything = command_interaction("summary", [option("video", "", focused=True)], autocomplete=True)
        s.interact(everything)
        assert len((await s.until(everything, 1))[0].payload["data"]["choices"]) == 4

        pick = command_interaction("summary", [option("video", "ct-contrastive-201")])
        s.interact(pick)
        calls = await s.until(pick, 2)
        assert calls[0].payload["type"] == 5
        embed = calls[1].payload["embeds"][0]
        assert embed["title"] == "Contrastive fine-tuning with triplets"
        # The stored extractive summary (ingest made it): central sentences of the lecture, each a timed link.
        stored = load_summary(s.bot.ta.settings, "ct-contrastive-201")
        assert stored is not None and stored.points
        assert embed["description"] == stored.summary
        moments = embed["fields"][0]["value"].splitlines()
        assert 1 <= len(moments) <= len(stored.points)  # as many as fit in one embed field
        first = stored.points[0]
        assert first.start_s is not None
        assert moments[0].startswith(f"[{format_timestamp(first.start_s)}](file://") and f"#t={int(first.start_s)})" in moments[0]
        assert "most central sentences" in embed["footer"]["text"]

        unknown = command_interaction("summary", [option("video", "quantum knitting")])
        s.interact(unknown)
        assert "No indexed video matches" in (await s.until(unknown, 2))[1].payload["embeds"][0]["description"]

    run_bot(body)


def test_sources_and_a_reply_follow_up_carry_the_history(run_bot) -> None:
    async def body(s: Scenario) -> None:
        nothing = command_interaction("sources")
        s.interact(nothing)
        assert "haven't asked" in (await s.until(nothing, 1))[0].payload["data"]["embeds"][0]["description"]

        ask = command_interaction("ask", [option("question", "How does reciprocal rank fusion combine BM25 and dense retrieval?")])
        s.interact(ask)
        answer_call = (await s.until(ask, 3))[1]  # the text, then the clip
        sources = command_interaction("sources")
        s.interact(sources)
        embed = (await s.until(sources, 1))[0].payload["data"]["embeds"][0]
        assert embed["fields"] and "> " in embed["fields"][0]["value"] and "#t=" in embed["fields"][0]["value"]

        message_id = int(answer_call.response["id"])
        follow_up = reply_message("and what constant does it use?", message_id)
        s.message(follow_up)
        in_channel = f"/channels/{TEXT_CHANNEL_ID}/messages"
        replies = await s.api.wait_for(lambda calls: sum(c.path == in_channel for c in calls) >= 2)
        reply, clip = [c for c in replies if c.path == in_channel][:2]
        assert str(reply.payload["message_reference"]["message_id"]) == follow_up["id"]  # answers the student's reply
        assert any(m.endswith("with 1 earlier turn(s)") for _, m in s.log.events)
        assert not reply.files and clip.is_voice_message and clip.files[0].content_type == "audio/ogg"  # text first, then the clip

        from_bot = reply_message("ignored: I'm a bot", message_id, author_id=BOT_USER_ID, bot=True)
        unrelated = reply_message("not a reply to the bot", 123456789012345678)
        s.message(from_bot)
        s.message(unrelated)
        # discord.py runs on_message as tasks: wait until both handlers have decided, then check what they did.
        await s.until_logged(f"message {from_bot['id']} ignored: from a bot")
        await s.until_logged(f"message {unrelated['id']} ignored: it continues none of our answers")
        assert sum("answering" in m for _, m in s.log.events) == 2
        replied_to = {str(c.payload.get("message_reference", {}).get("message_id")) for c in s.api.calls if isinstance(c.payload, dict)}
        assert from_bot["id"] not in replied_to and unrelated["id"] not in replied_to

    run_bot(body)


def test_long_answers_split_within_discord_limits() -> None:
    sentence = "Rank fusion rewards documents that both retrievers like. "
    citations = [Citation("v", f"Lecture {i}", f"https://www.youtube.com/watch?v=v{i}&t={i}s", float(i), None, 1.0, "q") for i in range(40)]
    answer = Answer("q?", sentence * 200, True, citations, "embedded", "offline")
    embeds = answer_embeds(answer, VoiceNote("piper", "joe"))
    assert len(embeds) >= 3
    assert all(len(e) <= EMBED_TOTAL_LIMIT and len(e.description or "") <= DESCRIPTION_LIMIT and len(e.fields) <= 25 for e in embeds)
    assert all(len(f.value or "") <= 1024 for e in embeds for f in e.fields)
    assert " ".join(e.description or "" for e in embeds).split() == answer.text.split()  # nothing lost or cut mid-word
    assert all((e.description or "").endswith(".") for e in embeds)  # cut at sentence ends
    assert all(len(piece) <= 2000 for piece in split_text("word " * 3000, 2000))


def test_invite_url_has_exactly_the_scopes_and_permissions(capsys, monkeypatch) -> None:
    monkeypatch.setenv("COURSE_TA_DISCORD_CLIENT_ID", "123456789012345678")
    assert main(["discord", "invite-url"]) == 0
    query = parse_qs(urlparse(capsys.readouterr().out.strip()).query)
    assert query["client_id"] == ["123456789012345678"]
    assert query["scope"] == ["bot applications.commands"]
    # View Channel, Send Messages, Embed Links, Attach Files, Read History, Connect, Speak, Send in Threads, Send Voice Messages
    expected = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 15) | (1 << 16) | (1 << 20) | (1 << 21) | (1 << 38) | (1 << 46)
    assert int(query["permissions"][0]) == expected
    assert main(["discord", "invite-url", "--client-id", "nope"]) == 2
    assert "COURSE_TA_DISCORD_CLIENT_ID" in capsys.readouterr().err


@pytest.mark.parametrize(
    "variable", ["COURSE_TA_DISCORD_ALLOWED_GUILDS", "COURSE_TA_DISCORD_ALLOWED_CHANNELS", "COURSE_TA_DISCORD_TEST_GUILD_ID"]
)
def test_bad_ids_fail_naming_the_variable(monkeypatch, variable: str) -> None:
    monkeypatch.setenv(variable, "123456789012345678,general")
    from pipelines.settings import SettingsError

    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_the_token_is_never_echoed(monkeypatch, capsys) -> None:
    monkeypatch.setenv("DISCORD_TOKEN", "MTIz.secret-token-value")
    settings = load_settings()
    assert settings.discord_token is not None and "secret-token-value" not in repr(settings) + str(settings.model_dump())
