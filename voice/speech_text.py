"""What is spoken is not what is written: turn an answer's markdown into a short, speakable script.

A chat answer carries citation markers, deep links, markdown and code; read aloud they are noise
("open bracket one close bracket, h t t p s ..."). This module strips them, spells numbers and common
abbreviations out, removes what an English voice cannot read (emoji, non-Latin scripts), and keeps
the first sentences that fit in the length cap so a clip stays a short summary, not an audiobook.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from voice.numbers import speak_numbers

# Anything past this is never spoken (the cap is ~45 s ≈ 700 characters); cutting early keeps a
# 100k-character answer from costing regex time for text that will be dropped anyway.
RAW_LIMIT_CHARS = 20_000


class SpeechTextError(ValueError):
    """The text has nothing a voice can say (empty, only emoji/code/links, or another script)."""


@dataclass(frozen=True)
class SpeechText:
    """The script to speak, whether it was cut to fit the length cap, and its word count."""

    text: str
    truncated: bool
    words: int


_FENCED_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)", re.DOTALL)
_IMAGE = re.compile(r"!\[[^\]\n]*\]\([^)\n]*\)")
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^)\s]+)(?:\s+\"[^\"]*\")?\)")
_SLACK_LINK = re.compile(r"<(?:https?|mailto):[^|>\s]+\|([^>]+)>")
_ANGLE_URL = re.compile(r"<(?:https?|mailto|ftp):[^>\s]*>")
_BARE_URL = re.compile(r"\b(?:https?://|ftp://|www\.)\S+", re.IGNORECASE)
_CITATION = re.compile(r"\[\^?\d+(?:\s*[,–-]\s*\^?\d+)*\]|【[^】]{0,40}】|\[(?:source|citation|ref)[^\]\n]{0,40}\]", re.IGNORECASE)
_HTML_TAG = re.compile(r"</?[A-Za-z][^>\n]{0,200}>")
_INLINE_CODE = re.compile(r"`([^`\n]{1,80})`")
_LONG_INLINE_CODE = re.compile(r"`[^`\n]*`")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_LIST_MARK = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+", re.MULTILINE)
_QUOTE_MARK = re.compile(r"^\s*>+\s?", re.MULTILINE)
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|~~)(.+?)\1|(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])|(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
_TABLE_PIPE = re.compile(r"\s*\|\s*")
_RANGE = re.compile(r"(?<![\w.:])(\d+)\s*[–-]\s*(\d+)(?![\w.:])")

# Abbreviations (case-sensitive where capitals matter) and symbols, said the way a speaker would.
_ABBREVIATIONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), spoken)
    for pattern, spoken in (
        (r"\be\.\s?g\.,?", "for example,"),
        (r"\bi\.\s?e\.,?", "that is,"),
        (r"\betc\.", "et cetera."),
        (r"\bvs\.?(?=\s)", "versus"),
        (r"\bapprox\.", "approximately"),
        (r"\b[Ff]ig\.(?=\s*\d)", "figure"),
        (r"\b[Ee]q\.(?=\s*\d)", "equation"),
        (r"\b[Ss]ec\.(?=\s*\d)", "section"),
        (r"\b[Cc]h\.(?=\s*\d)", "chapter"),
        (r"\bDr\.(?=\s[A-Z])", "Doctor"),
        (r"\bMr\.(?=\s[A-Z])", "Mister"),
        (r"\bMrs\.(?=\s[A-Z])", "Missus"),
        (r"\bMs\.(?=\s[A-Z])", "Miz"),
        (r"\bw/o\b", "without"),
        (r"(?<!\w)w/(?=\s)", "with"),
        (r"\bQ&A\b", "Q and A"),
        (r"\bFAQ\b", "F A Q"),
        (r"\bTL;DR:?", "In short,"),
        (r"\bmins?\b(?=\.?\s|$)", "minutes"),
        (r"\bsecs?\b(?=\.?\s|$)", "seconds"),
        (r"\bhrs?\b(?=\.?\s|$)", "hours"),
    )
)
_UNITS = {
    "ms": "milliseconds",
    "s": "seconds",
    "min": "minutes",
    "h": "hours",
    "x": "times",
    "kb": "kilobytes",
    "mb": "megabytes",
    "gb": "gigabytes",
    "tb": "terabytes",
    "hz": "hertz",
    "khz": "kilohertz",
    "mhz": "megahertz",
    "ghz": "gigahertz",
    "km": "kilometers",
    "cm": "centimeters",
    "mm": "millimeters",
    "kg": "kilograms",
}
_NUMBER_UNIT = re.compile(r"(?<![\w.])(\d[\d,]*(?:\.\d+)?)\s?(" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r")\b", re.IGNORECASE)
_SYMBOLS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), spoken)
    for pattern, spoken in (
        (r"(\d)\s?%", r"\1 percent"),
        (r"\$(\d[\d,]*(?:\.\d+)?)", r"\1 dollars"),
        (r"€(\d[\d,]*(?:\.\d+)?)", r"\1 euros"),
        (r"\s*(?:->|→|=>)\s*", " to "),
        (r"\s&\s", " and "),
        (r"(?<=\d)\s?\+\s?(?=\d)", " plus "),
        (r"(?<=\d)\s?[×*]\s?(?=\d)", " times "),
        (r"(?<=\d)\s?=\s?(?=\d)", " equals "),
        (r"~\s?(?=\d)", "about "),
        (r"#(?=\d)", "number "),
    )
)
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_SPACES = re.compile(r"[ \t\u00a0]+")


def _remove_unreadable(text: str) -> str:
    """Drop emoji, pictographs and letters outside the Latin script: an English voice cannot say them."""
    kept: list[str] = []
    for char in text:
        if char.isascii():
            kept.append(char)
            continue
        category = unicodedata.category(char)
        if category.startswith("L"):
            name = unicodedata.name(char, "")
            kept.append(char if name.startswith("LATIN") else " ")
        elif category in ("Zs", "Pd", "Pi", "Pf", "Po", "Ps", "Pe"):
            kept.append(_PUNCTUATION.get(char, char if category != "Po" else " "))
        elif category == "Nd":
            kept.append(str(unicodedata.digit(char)))
        else:  # So/Sk/Sm (emoji, symbols), Mn (combining), Cf (joiners, variation selectors), Co/Cn
            kept.append(" ")
    return "".join(kept)


_PUNCTUATION = {
    "\u2019": "'",
    "\u2018": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": ", ",
    "\u2026": "...",
    "\u00a0": " ",
    "\u3002": ". ",
    "\uff0c": ", ",
    "\uff01": "! ",
    "\uff1f": "? ",
}


def _strip_markup(text: str) -> str:
    text = _FENCED_CODE.sub(" ", text)
    text = _IMAGE.sub(" ", text)
    text = _SLACK_LINK.sub(r"\1", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _ANGLE_URL.sub(" ", text)
    text = _BARE_URL.sub(" ", text)
    text = _CITATION.sub("", text)
    text = _HTML_TAG.sub(" ", text)
    text = _INLINE_CODE.sub(r"\1", text)
    text = _LONG_INLINE_CODE.sub(" ", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE_MARK.sub("", text)
    text = _LIST_MARK.sub("", text)
    for _ in range(2):  # nested emphasis (**_x_**)
        text = _EMPHASIS.sub(lambda m: next(g for g in m.groups()[1:] if g is not None), text)
    text = _TABLE_PIPE.sub(", ", text) if "|" in text else text
    return text


def _lines_to_sentences(text: str) -> str:
    """Headings and list items have no final period; give each line one so the voice pauses."""
    lines = [line.strip() for line in text.splitlines()]
    joined: list[str] = []
    for line in lines:
        if not line:
            continue
        if not re.search(r"[.!?:;,]$", line):
            line += "."
        joined.append(line)
    return " ".join(joined)


def _spell_out(text: str) -> str:
    for pattern, spoken in _ABBREVIATIONS:
        text = pattern.sub(spoken, text)
    for pattern, spoken in _SYMBOLS:
        text = pattern.sub(spoken, text)
    text = _RANGE.sub(r"\1 to \2", text)
    text = _NUMBER_UNIT.sub(lambda m: f"{m.group(1)} {_UNITS[m.group(2).lower()]}", text)
    return speak_numbers(text)


def _tidy(text: str) -> str:
    text = _SPACES.sub(" ", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    text = re.sub(r"([,;:])(?:\s*[,;:])+", r"\1", text)
    text = re.sub(r"([.!?])(?:\s*[.,;:])+", r"\1", text)
    text = re.sub(r"\(\s*\)|\[\s*\]", "", text)
    text = re.sub(r"^[\s,.;:!?-]+", "", text)
    return _SPACES.sub(" ", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences of already-cleaned speech text (abbreviations are spelled out, so a period ends one)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part.strip()]


def _cap(sentences: list[str], max_words: int) -> tuple[list[str], bool]:
    kept: list[str] = []
    count = 0
    for sentence in sentences:
        words = len(sentence.split())
        if count + words > max_words:
            if not kept:  # one giant first sentence: end it at a clause, else a word, boundary
                kept.append(_shorten(sentence, max_words))
            return kept, True
        kept.append(sentence)
        count += words
    return kept, False


def _shorten(sentence: str, max_words: int) -> str:
    words = sentence.split()[:max_words]
    clipped = " ".join(words)
    clause = max(clipped.rfind(","), clipped.rfind(";"), clipped.rfind(":"))
    if clause > len(clipped) // 2:
        clipped = clipped[:clause]
    return clipped.rstrip(" ,;:-") + "."


def prepare_speech_text(text: str, max_seconds: float = 45.0, words_per_minute: int = 160) -> SpeechText:
    """The script to speak for ``text``: clean, spelled out, and at most ``max_seconds`` long.

    Raises :class:`SpeechTextError` when nothing speakable remains, so no backend is asked to say
    nothing and no empty clip is cached.
    """
    if not isinstance(text, str):
        raise SpeechTextError(f"speech text must be a string, got {type(text).__name__}")
    if not text.strip():
        raise SpeechTextError("nothing to say: the text is empty or only whitespace")
    raw = text[:RAW_LIMIT_CHARS]
    raw = unicodedata.normalize("NFC", raw.replace("\r\n", "\n"))
    cleaned = _strip_markup(raw)
    cleaned = _remove_unreadable(cleaned)
    cleaned = _tidy(_spell_out(_lines_to_sentences(cleaned)))
    if not re.search(r"[A-Za-z]", cleaned):
        raise SpeechTextError(
            "nothing to say: after removing links, code, citation markers, emoji and non-Latin script no readable words are left"
        )
    if cleaned[-1] not in ".!?":
        cleaned += "."
    max_words = max(5, int(max_seconds * words_per_minute / 60))
    kept, truncated = _cap(split_sentences(cleaned), max_words)
    spoken = " ".join(kept)
    return SpeechText(text=spoken, truncated=truncated or len(text) > RAW_LIMIT_CHARS, words=len(spoken.split()))
