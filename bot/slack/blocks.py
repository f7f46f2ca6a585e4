"""Block Kit for answers: the text, the sources that jump to the exact second, feedback buttons.

Slack's limits are enforced here and nowhere else: a section holds at most 3,000 characters and a
message at most 50 blocks, so long answers are split at paragraph/sentence boundaries and, past the
block budget, cut with a visible note.

Escaping: Slack reads ``<!channel>``, ``<!here>``, ``<!everyone>``, ``<@U…>``, ``<#C…>`` and
``<!subteam^…>`` as control sequences in *every* text field (a message's ``text`` as much as its
blocks, streamed markdown, titles), and only ``& < >`` can spell them. A lecture transcript or a
question is content, never markup, so every such string goes through :func:`escape` before it leaves
the bot. Markup the bot means (a source link, a channel it names) is built here from escaped parts.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.domain import Answer, Citation, format_timestamp

SECTION_LIMIT = 3000
MAX_BLOCKS = 50
FALLBACK_TEXT_LIMIT = 3900  # the top-level ``text``: notifications, screen readers, thread history
QUOTE_LIMIT = 220
# Slack's native 👍/👎 (a feedback_buttons element in a context_actions block); the button's value says
# which was pressed and for which answer.
FEEDBACK_ACTION = "answer_feedback"
FEEDBACK_GOOD, FEEDBACK_BAD = "good", "bad"
# The buttons of messages posted before the native ones; their clicks are still recorded.
FEEDBACK_UP = "feedback_up"
FEEDBACK_DOWN = "feedback_down"
WORKING_TEXT = ":mag: Looking through the lectures\u2026"
SEARCHING = "Searching the lectures\u2026"

Block = dict[str, Any]


def escape(text: str) -> str:
    """``text`` shown as typed: ``& < >`` escaped, so no control sequence (``<!channel>``, ``<@U…>``) survives."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def queued_text(ahead: int) -> str:
    """What a student whose question waits for a free answer slot reads (escaped, ready to send)."""
    if ahead <= 0:
        return ":hourglass_flowing_sand: Your question is next in line\u2026"
    noun = "question" if ahead == 1 else "questions"
    return f":hourglass_flowing_sand: Queued \u2014 {ahead} {noun} ahead of yours\u2026"


def link(url: str, label: str) -> str:
    """``<url|label>``; a ``|`` or ``>`` in the label would end the link early, so they are replaced."""
    safe_url = url.replace(">", "%3E").replace("|", "%7C").replace(" ", "%20")
    safe_label = escape(label).replace("|", "\u2758")
    return f"<{safe_url}|{safe_label}>"


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Pieces of at most ``limit`` characters, cut at a paragraph, line, sentence or word if possible."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for pattern in (r"\n\s*\n", r"\n", r"(?<=[.!?])\s", r"\s"):
            matches = [m.end() for m in re.finditer(pattern, window)]
            good = [end for end in matches if end >= limit // 2]
            if good:
                cut = good[-1]
                break
        if cut <= 0:
            cut = limit
        pieces.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def section(text: str) -> Block:
    """A mrkdwn section block (``text`` must already be escaped and within :data:`SECTION_LIMIT`)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def context(text: str) -> Block:
    """A small grey context line (mrkdwn)."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text}]}


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word to at most ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "\u2026"


def citation_block(number: int, citation: Citation) -> Block:
    """``[1] *Title* · ▶ 1:23`` (both link to the second) with a short quote underneath."""
    stamp = format_timestamp(citation.start_s)
    head = f"*[{number}]* {link(citation.url, shorten(citation.title, 150))} \u00b7 {link(citation.url, ':arrow_forward: ' + stamp)}"
    quote = shorten(citation.quote, QUOTE_LIMIT)
    return section(f"{head}\n>{escape(quote)}" if quote else head)


def not_covered_note(answer: Answer) -> Block:
    """Why there are no sources: the student must never be left guessing."""
    if answer.answerer == "none":
        why = "Nothing is indexed yet, so there is nothing to cite."
    else:
        why = "I searched the lecture transcripts and nothing matched closely enough to cite, so I didn't guess."
    return context(f":information_source: *Not covered in the course.* {why} Try rephrasing with terms from the lectures.")


def feedback_block(answer_id: str) -> Block:
    """Slack's native 👍/👎 (``feedback_buttons`` in a ``context_actions`` block); each value names the answer."""
    return {
        "type": "context_actions",
        "block_id": f"feedback:{answer_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": {
                    "text": {"type": "plain_text", "text": "Helpful"},
                    "accessibility_label": "This answer helped",
                    "value": f"{FEEDBACK_GOOD}:{answer_id}",
                },
                "negative_button": {
                    "text": {"type": "plain_text", "text": "Not helpful"},
                    "accessibility_label": "This answer did not help",
                    "value": f"{FEEDBACK_BAD}:{answer_id}",
                },
            }
        ],
    }


def feedback_vote(action: dict[str, Any]) -> tuple[str, int] | None:
    """(answer id, +1/-1) from a clicked feedback button, native or legacy; None for anything else."""
    action_id, value = action.get("action_id"), str(action.get("value") or "")
    if action_id == FEEDBACK_ACTION:
        kind, _, answer_id = value.partition(":")
        if kind in (FEEDBACK_GOOD, FEEDBACK_BAD) and answer_id:
            return answer_id, 1 if kind == FEEDBACK_GOOD else -1
        return None
    if action_id in (FEEDBACK_UP, FEEDBACK_DOWN) and value:
        return value, 1 if action_id == FEEDBACK_UP else -1
    return None


def answer_tail_blocks(answer: Answer, answer_id: str | None = None, notes: tuple[str, ...] = ()) -> list[Block]:
    """Everything under the answer text: sources (or why there are none), notes, feedback buttons.

    A streamed answer gets these when its stream is stopped; the text itself was streamed above them.
    """
    tail: list[Block] = []
    if answer.citations:
        tail.append({"type": "divider"})
        tail.append(context(f"*Sources* \u00b7 {len(answer.citations)} from the lectures, best first"))
        tail.extend(citation_block(n, c) for n, c in enumerate(answer.citations[: MAX_BLOCKS // 2], start=1))
    elif not answer.grounded:
        tail.append(not_covered_note(answer))
    tail.extend(context(escape(note)) for note in notes)
    if answer_id:
        tail.append(feedback_block(answer_id))
    return tail


def answer_blocks(answer: Answer, answer_id: str | None = None, notes: tuple[str, ...] = ()) -> list[Block]:
    """The full answer message. ``notes`` are small context lines (e.g. why there is no voice clip)."""
    tail = answer_tail_blocks(answer, answer_id, notes)
    return text_blocks(answer.text, MAX_BLOCKS - len(tail)) + tail


def text_blocks(text: str, budget: int = MAX_BLOCKS) -> list[Block]:
    """The answer text as sections, within ``budget`` blocks (the last one says when it was cut)."""
    pieces = split_text(escape(text)) or ["_(empty answer)_"]
    if len(pieces) > budget:
        pieces = pieces[: max(1, budget)]
        note = "\n_\u2026 (cut to fit Slack's message limits)_"
        pieces[-1] = pieces[-1][: SECTION_LIMIT - len(note)] + note
    return [section(piece) for piece in pieces]


def progress_blocks(partial_text: str) -> list[Block]:
    """What a streamed answer shows while it grows: the text so far and a 'still writing' line."""
    return [*text_blocks(partial_text, MAX_BLOCKS - 1), context(":writing_hand: still writing\u2026")]


def notice_blocks(text: str, emoji: str = ":warning:") -> list[Block]:
    """A one-paragraph message to the student (refusals, errors, limits)."""
    return [section(f"{emoji} {escape(text)}")]


def fallback_text(text: str) -> str:
    """The message's top-level ``text`` (notifications, screen readers, thread history), escaped and within its limit."""
    return escape(shorten(text, FALLBACK_TEXT_LIMIT) if len(text) > FALLBACK_TEXT_LIMIT else text)
