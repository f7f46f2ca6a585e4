"""Which intents the bot identifies with, over a local gateway, and what happens when Discord refuses Message Content."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import discord
import pytest
import yarl

from bot.discord.app import MESSAGE_CONTENT_REFUSED
from pipelines.courses.catalog import AnswerPolicy, Course
from tests.bot.discord.discord_gateway import MESSAGE_CONTENT, DiscordGateway
from tests.bot.discord.discord_payloads import TEXT_CHANNEL_ID
from tests.bot.discord.discord_scenario import Scenario
from tests.bot.discord.test_discord_question_channels import course_data

GUILD_MESSAGES = 1 << 9


def connect_through(gateway: DiscordGateway, monkeypatch: pytest.MonkeyPatch):
    """A scenario body that connects the bot to ``gateway`` and returns once it is ready (or raises what connect raised)."""

    async def body(s: Scenario) -> None:
        monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(await gateway.start()))
        connecting = asyncio.create_task(s.bot.connect())
        ready = asyncio.create_task(s.bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait({connecting, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
            assert done, "the bot neither became ready nor failed"
            if connecting in done:
                connecting.result()  # re-raises why the connection ended
            assert ready in done
        finally:
            await s.bot.close()
            await asyncio.wait_for(asyncio.gather(connecting, return_exceptions=True), 30)
            ready.cancel()
            await gateway.stop()

    return body


@pytest.mark.timeout(300)
def test_message_content_is_asked_for_question_channels_and_a_refusal_still_starts_the_bot(
    run_bot, course_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing reads plain messages: no privileged intent, no guild messages.
    plain = DiscordGateway(refuse_message_content=True)
    run_bot(connect_through(plain, monkeypatch), discord_follow_ups=False, voice_enabled=False)
    assert len(plain.identified) == 1 and not plain.identified[0] & (MESSAGE_CONTENT | GUILD_MESSAGES)

    # A course answers in a question channel: the bot asks for the messages and their content, even without follow-ups.
    rag = Course(id="rag", title="Retrieval", policy=AnswerPolicy(answer_without_mention_discord=[str(TEXT_CHANNEL_ID)]))
    data = course_data(course_dir, tmp_path, rag)
    refusing = DiscordGateway(refuse_message_content=True)
    caplog.set_level(logging.INFO, logger="bot.discord")
    run_bot(
        connect_through(refusing, monkeypatch),
        data_dir=data,
        courses_file=data / "courses.toml",
        discord_follow_ups=False,
        voice_enabled=False,
    )
    first, second = refusing.identified
    assert first & MESSAGE_CONTENT and first & GUILD_MESSAGES
    # Refused: one clear line, then the bot connects without the intent (and is ready).
    assert not second & MESSAGE_CONTENT and second & GUILD_MESSAGES
    refused = [r for r in caplog.records if "Message Content" in r.getMessage()]
    assert [(r.levelno, r.getMessage()) for r in refused] == [(logging.ERROR, MESSAGE_CONTENT_REFUSED)]
    assert "Developer Portal" in MESSAGE_CONTENT_REFUSED and "\n" not in MESSAGE_CONTENT_REFUSED
