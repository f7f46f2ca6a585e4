"""Command registration at start-up: ``setup_hook`` run by discord.py's own ``login``, the bulk
overwrite answered (or refused) by the local Discord API, and the bot still serving afterwards."""

from __future__ import annotations

import logging

import discord

from bot.discord.app import sync_failure_message
from tests.bot.discord.discord_payloads import GUILD_ID, command_interaction
from tests.bot.discord.discord_scenario import Scenario
from tests.fakes.discord_rest import APP_ID, DiscordAPI

COMMANDS = {"ask", "sources", "summary", "join", "leave", "stop"}
VOICE_COMMANDS = {"join", "leave", "stop"}
GUILD_ROUTE = f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands"
GLOBAL_ROUTE = f"/applications/{APP_ID}/commands"


def registered(api: DiscordAPI, guild_id: int | None) -> dict[str, dict]:
    return {command["name"]: command for command in api.commands.get(guild_id, [])}


async def still_serving(s: Scenario) -> None:
    """A command after start-up gets its reply: the bot kept running."""
    sources = command_interaction("sources")
    s.interact(sources)
    (reply,) = await s.until(sources, 1)
    assert reply.payload["type"] == 4 and "haven't asked" in reply.payload["data"]["embeds"][0]["description"]


def test_commands_are_registered_in_the_test_guild_only(run_bot) -> None:
    async def body(s: Scenario) -> None:
        assert [c.path for c in s.api.find("PUT", "/commands")] == [GUILD_ROUTE]
        commands = registered(s.api, GUILD_ID)
        assert set(commands) == COMMANDS and None not in s.api.commands  # nothing global, so no duplicates
        ask = {o["name"]: o for o in commands["ask"]["options"]}
        assert ask["question"]["required"] and ask["question"]["type"] == 3
        assert not ask["speak"].get("required") and ask["speak"]["type"] == 5
        assert commands["summary"]["options"][0]["autocomplete"] is True
        assert f"synced 6 command(s) to guild {GUILD_ID}" in s.log.at(logging.INFO)
        assert not s.log.at(logging.ERROR)

    run_bot(body)


def test_without_a_test_guild_commands_are_registered_globally_with_voice_commands_guild_only(run_bot) -> None:
    async def body(s: Scenario) -> None:
        assert [c.path for c in s.api.find("PUT", "/commands")] == [GLOBAL_ROUTE]
        commands = registered(s.api, None)
        assert set(commands) == COMMANDS and list(s.api.commands) == [None]
        for name in VOICE_COMMANDS:  # a voice channel needs a server: never offered in DMs
            assert commands[name]["contexts"] == [0] and commands[name]["dm_permission"] is False
        for name in COMMANDS - VOICE_COMMANDS:
            assert commands[name]["dm_permission"] is True
        for name in ("ask", "sources"):  # installable by a student too: DMs, group DMs, servers that allow external apps
            assert sorted(commands[name]["integration_types"]) == [0, 1] and sorted(commands[name]["contexts"]) == [0, 1, 2]
        assert any("synced 6 command(s) globally" in m for m in s.log.at(logging.INFO))

    run_bot(body, discord_test_guild_id=None)


def test_missing_access_to_the_test_guild_is_one_clear_log_line_and_the_bot_keeps_running(run_bot) -> None:
    def refuse(api: DiscordAPI) -> None:
        api.fail("PUT", r"/guilds/\d+/commands$", 403, 50001, "Missing Access")

    async def body(s: Scenario) -> None:
        assert s.api.find("PUT", "/commands") and not s.api.commands  # tried once, nothing registered
        (line,) = s.log.at(logging.ERROR)
        assert f"could not register the slash commands in guild {GUILD_ID}" in line
        assert "403 Forbidden (error code: 50001): Missing Access" in line
        assert f"course-ta discord invite-url --guild {GUILD_ID}" in line and "applications.commands" in line
        assert "keeps running" in line and "\n" not in line
        assert not [r for r in s.log.records if r.exc_info]  # a line, not a traceback
        await still_serving(s)

    run_bot(body, prepare_api=refuse)


def test_rate_limited_global_sync_is_one_clear_log_line_and_the_bot_keeps_running(run_bot) -> None:
    def rate_limit(api: DiscordAPI) -> None:
        api.fail("PUT", r"^/applications/\d+/commands$", 429, 0, "You are being rate limited.", retry_after=0.01, **{"global": False})

    async def body(s: Scenario) -> None:
        assert s.api.find("PUT", GLOBAL_ROUTE) and not s.api.commands
        (line,) = s.log.at(logging.ERROR)
        assert "could not register the slash commands globally" in line and "429" in line
        assert "rate-limiting" in line and "restart the bot later" in line and "keeps running" in line
        await still_serving(s)

    run_bot(body, prepare_api=rate_limit, discord_test_guild_id=None)


def test_a_rate_limit_discord_py_gives_up_on_gets_the_same_advice() -> None:
    line = sync_failure_message(discord.RateLimited(600.0), None)
    assert line.startswith("could not register the slash commands globally") and "rate-limiting" in line and "keeps running" in line
