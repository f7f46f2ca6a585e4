"""The student's question as the title of the /ask answer and of /sources: shown, but inert (no mention, markdown or
masked link of the student's survives) and within Discord's 256-character title limit even after escaping.
discord.py's real parser and CommandTree, REST captured by the local server."""

from __future__ import annotations

from bot.discord.embeds import TITLE_LIMIT
from tests.bot.discord.discord_payloads import command_interaction, option
from tests.bot.discord.discord_scenario import Scenario

ROLE = "<@&930000000000000001>"
USER = "<@932000000000000002>"
HOSTILE = (
    f"@everyone @here {ROLE} {USER} <!channel> **urgent** __look__ ~~x~~ ||spoiler|| `code` "
    "[free credits](https://evil.example/claim) **after** how does reciprocal rank fusion combine BM25 and dense retrieval?"
)
ZERO_WIDTH = "\u200b"


def _title(call) -> str:
    embed = call.payload["embeds"][0] if "embeds" in call.payload else call.payload["data"]["embeds"][0]
    return embed["title"]


def _inert(title: str) -> None:
    for raw in ("@everyone", "@here", ROLE, USER, "<!channel>", "**urgent**", "__look__", "~~x~~", "||spoiler||", "`code`", "**after**"):
        assert raw not in title, (raw, title)
    assert title.count("[") == title.count("\\[") == 1  # the masked link is broken


def test_a_hostile_question_is_shown_inert_in_the_answer_and_sources_titles(run_bot) -> None:
    async def body(s: Scenario) -> None:
        ask = command_interaction("ask", [option("question", HOSTILE)])
        s.interact(ask)
        title = _title((await s.until(ask, 2))[1])
        _inert(title)
        # still the student's words, cut to a headline: only escapes were added
        shown = title.replace("\\", "").replace(ZERO_WIDTH, "")
        assert shown.endswith("\u2026") and HOSTILE.startswith(shown.removesuffix("\u2026")) and len(shown) > 150

        sources = command_interaction("sources")
        s.interact(sources)
        sources_title = _title((await s.until(sources, 1))[0])
        _inert(sources_title)
        assert sources_title.startswith("Sources for: ")

    run_bot(body, voice_enabled=False)


def test_a_long_question_full_of_markdown_keeps_the_title_within_the_limit(run_bot) -> None:
    question = "how does reciprocal rank fusion combine BM25 and dense retrieval " + "*_~|` " * 150 + "?"

    async def body(s: Scenario) -> None:
        ask = command_interaction("ask", [option("question", question)])
        s.interact(ask)
        title = _title((await s.until(ask, 2))[1])
        assert len(title) <= TITLE_LIMIT and title.endswith("\u2026")
        assert title.startswith("how does reciprocal rank fusion") and "\\*\\_\\~\\|\\`" in title  # escaped, not cut mid-escape
        shown = title.removesuffix("\u2026").rstrip()
        assert (len(shown) - len(shown.rstrip("\\"))) % 2 == 0  # no escape cut in half before the ellipsis

    run_bot(body, voice_enabled=False)
