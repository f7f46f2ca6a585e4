"""The initial prompt for Whisper: the course's own vocabulary, so its names are spelled right.

Whisper conditions on the prompt's text, so a prompt that contains "LoRA, ImageBind, Tortoise"
makes those spellings far likelier than "Laura" or "image bind". We collect the terms that look
like names (internal capitals, acronyms, digits in words, capitalised words that are not just
sentence starts) from video titles (weighted up) and already-indexed transcripts, keep the most
frequent, and stay under Whisper's prompt budget (224 tokens; we keep ~600 characters).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

MAX_PROMPT_CHARS = 600
TITLE_WEIGHT = 3
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-'][A-Za-z0-9]+)*")
_COMMON = frozenset(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "so",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "with",
        "from",
        "into",
        "over",
        "under",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "we",
        "you",
        "i",
        "he",
        "she",
        "they",
        "our",
        "your",
        "their",
        "my",
        "me",
        "us",
        "them",
        "what",
        "why",
        "how",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "there",
        "here",
        "then",
        "than",
        "now",
        "today",
        "next",
        "first",
        "last",
        "let",
        "lets",
        "let's",
        "part",
        "video",
        "lecture",
        "course",
        "okay",
        "ok",
        "yes",
        "no",
        "not",
        "all",
        "any",
        "some",
        "one",
        "two",
        "three",
        "new",
        "more",
        "most",
        "very",
        "just",
        "also",
        "like",
        "can",
        "will",
        "would",
        "should",
        "could",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "get",
        "got",
        "make",
        "made",
        "see",
        "look",
        "go",
        "going",
        "know",
        "think",
        "introduction",
        "intro",
        "chapter",
        "episode",
        "review",
        "summary",
    ]
)


def _is_term(token: str, sentence_start: bool) -> bool:
    if len(token) < 2 or token.lower() in _COMMON:
        return False
    inner_caps = any(c.isupper() for c in token[1:])
    has_digit = any(c.isdigit() for c in token)
    if inner_caps or has_digit:
        return True  # LoRA, ImageBind, GPT, GPT2, BERT
    return token[0].isupper() and not sentence_start and len(token) > 3


def course_terms(titles: Iterable[str], texts: Iterable[str], limit: int = 80) -> list[str]:
    """The most frequent name-like terms, titles counting ``TITLE_WEIGHT`` times a transcript mention."""
    counts: Counter[str] = Counter()
    lowercase: Counter[str] = Counter()
    for title in titles:
        for token in set(_TOKEN.findall(title)):
            if _is_term(token, sentence_start=False):
                counts[token] += TITLE_WEIGHT
    for text in texts:
        previous_end = True
        for match in _TOKEN.finditer(text):
            token = match.group(0)
            before = text[max(0, match.start() - 2) : match.start()]
            sentence_start = previous_end or bool(re.search(r"[.!?]\s*$", before))
            if _is_term(token, sentence_start):
                counts[token] += 1
            elif token.islower():
                lowercase[token] += 1
            previous_end = False
    # Keep one spelling per lowercase form: the most frequent one.
    best: dict[str, tuple[int, str]] = {}
    for token, count in counts.items():
        key = token.lower()
        plain_capital = token[1:].islower() and not any(c.isdigit() for c in token)
        if "'" in token or (plain_capital and lowercase[key] >= count):
            continue  # contractions, and ordinary words that merely start a title
        if key not in best or count > best[key][0]:
            best[key] = (count, token)
    ranked = sorted(best.values(), key=lambda item: (-item[0], item[1]))
    return [token for count, token in ranked if count >= 2][:limit]


def initial_prompt(terms: list[str], max_chars: int = MAX_PROMPT_CHARS) -> str | None:
    """``"Glossary: LoRA, ImageBind, …."`` within ``max_chars``; None when there is nothing to say."""
    chosen: list[str] = []
    length = len("Glossary: .")
    for term in terms:
        if length + len(term) + 2 > max_chars:
            break
        chosen.append(term)
        length += len(term) + 2
    return f"Glossary: {', '.join(chosen)}." if chosen else None
