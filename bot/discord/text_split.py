"""Split long text into pieces under a hard limit at the cleanest boundary available.

Discord rejects a message over 2,000 characters and an embed description over 4,096, so a long
answer must be cut; cutting at a paragraph, then a sentence, then a word keeps every piece readable.
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_text(text: str, limit: int) -> list[str]:
    """Pieces of ``text``, each at most ``limit`` characters, joined back they hold every word."""
    if limit < 1:
        raise ValueError("limit must be positive")
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        cut = _best_cut(text, limit)
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def _best_cut(text: str, limit: int) -> int:
    window = text[: limit + 1]
    floor = limit // 2  # never make a piece shorter than half the limit just to find a nicer cut
    paragraph = window.rfind("\n\n", floor)
    if paragraph > 0:
        return paragraph
    sentences = [m.start() for m in _SENTENCE_END.finditer(window) if m.start() >= floor]
    if sentences:
        return sentences[-1]
    line = window.rfind("\n", floor)
    if line > 0:
        return line
    space = window.rfind(" ", floor)
    if space > 0:
        return space
    return limit  # one enormous word (a URL): a hard cut is the only option
