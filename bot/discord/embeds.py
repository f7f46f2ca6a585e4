"""Answers, sources and summaries as Discord embeds that always fit Discord's limits.

Limits (discord.com/developers/docs/resources/message#embed-object-embed-limits): a description
holds 4,096 characters, a field value 1,024, a title 256, a footer 2,048, at most 25 fields, and all
embeds of one message together 6,000 characters; plain message content holds 2,000. A request over
any of them fails with HTTP 400, which the student would see as "the application did not respond",
so every embed built here is sized before it is sent.

Titles repeat the student's question, so they show it inert (:func:`question_title`): no mention,
markdown or masked link the student typed takes effect, whatever ``allowed_mentions`` already blocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.discord.text_split import split_text
from pipelines.domain import Answer, Citation, format_timestamp

MESSAGE_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
FIELD_NAME_LIMIT = 256
TITLE_LIMIT = 256
FOOTER_LIMIT = 2048
QUESTION_TITLE_CHARS = 200  # of the question, before escaping: a headline, not the whole question
MAX_FIELDS = 25
EMBED_TOTAL_LIMIT = 6000

ANSWER_COLOUR = discord.Colour.blurple()
NOT_COVERED_COLOUR = discord.Colour.light_grey()
ERROR_COLOUR = discord.Colour.red()


@dataclass(frozen=True)
class VoiceNote:
    """What the footer says about the clip: who spoke, or why nobody did."""

    backend: str | None
    voice: str | None
    error: str | None = None

    follows: bool = False  # the clip is being made and comes as the next message

    @classmethod
    def coming(cls) -> VoiceNote:
        """The text goes out first; the spoken answer follows in its own message."""
        return cls(None, None, None, True)

    def describe(self) -> str:
        """The footer text: the backend and voice, that the clip follows, or why there is no clip."""
        if self.follows:
            return "spoken answer follows"
        if self.error or not self.backend:
            return f"no voice clip ({self.error or 'voice unavailable'})"
        return f"voice: {self.backend}" + (f" ({self.voice})" if self.voice else "")


def clip_text(text: str, limit: int) -> str:
    """Shorten to ``limit`` characters with an ellipsis, at a word boundary when one is near."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit - 1].rstrip() + "…"


def neutralised(text: str) -> str:
    """``text`` shown as typed but inert in Discord: markdown and masked links escaped, mentions broken, ``<…>`` sequences opened.

    discord.py's escapes cover markdown and user, role, @everyone and @here mentions; the zero-width
    space after ``<`` also opens what they leave: channel mentions, custom emoji, timestamps, command
    mentions and Slack-style ``<!channel>``.
    """
    # escape_markdown escapes only the "[" of a masked link and skips the rest of the line it spans,
    # so each piece between brackets is escaped on its own and the brackets are escaped here.
    text = "\\[".join(discord.utils.escape_markdown(piece) for piece in text.split("["))
    return discord.utils.escape_mentions(text).replace("<", "<\u200b")


def question_title(question: str, prefix: str = "") -> str:
    """``prefix`` plus the question on one line, neutralised (:func:`neutralised`), cut to a headline and within the title limit.

    The question is cut before it is escaped (so no escape is cut in half), and cut shorter when
    its escapes would push the title past Discord's 256 characters.
    """
    text = " ".join(question.split())
    room = QUESTION_TITLE_CHARS
    while True:
        title = prefix + neutralised(clip_text(text, room))
        if len(title) <= TITLE_LIMIT or room <= 1:
            return title[:TITLE_LIMIT]
        room -= max(1, (len(title) - TITLE_LIMIT + 1) // 2)


def source_line(number: int, citation: Citation) -> str:
    """``[1] [3:05 · Title](url)``: the link opens the video at the cited second."""
    title = citation.title.replace("[", "(").replace("]", ")")
    label = clip_text(f"{format_timestamp(citation.start_s)} · {title}", 150)
    return f"`[{number}]` [{label}]({citation.url})"


def source_lines(citations: Sequence[Citation]) -> list[str]:
    """One numbered link per citation, best first."""
    return [source_line(number, citation) for number, citation in enumerate(citations, start=1)]


def pack_fields(name: str, lines: Sequence[str], max_fields: int) -> list[tuple[str, str]]:
    """Lines grouped into field values of at most 1,024 characters, in order, never split mid-line."""
    fields: list[tuple[str, str]] = []
    current = ""
    for line in lines:
        line = clip_text(line, FIELD_VALUE_LIMIT)
        if current and len(current) + 1 + len(line) > FIELD_VALUE_LIMIT:
            fields.append((name if not fields else f"{name} (cont.)", current))
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        fields.append((name if not fields else f"{name} (cont.)", current))
    return fields[:max_fields]


def embed_size(embed: discord.Embed) -> int:
    """Characters Discord counts towards the 6,000 total (title, description, fields, footer, author)."""
    return len(embed)


def answer_embeds(answer: Answer, voice: VoiceNote) -> list[discord.Embed]:
    """The answer as one or more embeds: the first carries title, sources and footer, the rest continue
    the text. Each embed is sent in its own message so the 6,000-character total holds per message."""
    colour = ANSWER_COLOUR if answer.grounded else NOT_COVERED_COLOUR
    title = question_title(answer.question)
    footer = clip_text(f"answered by {answer.answerer or 'unknown'} · {voice.describe()}", FOOTER_LIMIT)
    fields = pack_fields("Sources", source_lines(answer.citations), MAX_FIELDS)
    overhead = len(title) + len(footer) + sum(len(n) + len(v) for n, v in fields)
    first_room = max(200, min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - overhead - 10))
    text = answer.text.strip() or "(empty answer)"
    head = split_text(text, first_room)[0]
    rest = text[len(head) :].strip() if len(head) < len(text) else ""
    first = discord.Embed(title=title, description=head, colour=colour)
    for name, value in fields:
        first.add_field(name=name, value=value, inline=False)
    first.set_footer(text=footer)
    embeds = [first]
    for number, piece in enumerate(split_text(rest, DESCRIPTION_LIMIT) if rest else [], start=2):
        more = discord.Embed(description=piece, colour=colour)
        more.set_footer(text=f"answer continued ({number})")
        embeds.append(more)
    return embeds


def sources_embed(answer: Answer) -> discord.Embed:
    """``/sources``: every citation of the last answer with the sentence it quotes."""
    embed = discord.Embed(title=question_title(answer.question, "Sources for: "), colour=ANSWER_COLOUR)
    if not answer.citations:
        embed.description = "That answer cited no lecture (the course did not cover the question)."
        return embed
    budget = EMBED_TOTAL_LIMIT - len(embed.title or "") - 50
    for number, citation in enumerate(answer.citations[:MAX_FIELDS], start=1):
        name = clip_text(f"[{number}] {citation.title} @ {format_timestamp(citation.start_s)}", FIELD_NAME_LIMIT)
        value = clip_text(f"[open at {format_timestamp(citation.start_s)}]({citation.url})\n> {citation.quote}", FIELD_VALUE_LIMIT)
        if len(name) + len(value) > budget:
            break
        budget -= len(name) + len(value)
        embed.add_field(name=name, value=value, inline=False)
    return embed


def error_embed(message: str) -> discord.Embed:
    """A red embed holding the message, cut to fit."""
    return discord.Embed(description=clip_text(message, DESCRIPTION_LIMIT), colour=ERROR_COLOUR)
