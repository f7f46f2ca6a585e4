"""Timed sentences from timed segments, for punctuated and unpunctuated speech alike.

Citations must point at the second a sentence begins, but captions are cut by screen width, not by
sentence. So we spread each segment's time over its words (or use Whisper's word timestamps), find
sentence boundaries over the whole text, and read each sentence's start/end from its words.

Punctuated text is split by blingfire's sentence model. Runs without punctuation (YouTube's raw
transcripts) are cut into pseudo-sentences at pauses, caption boundaries and discourse markers
("so", "now", "okay"), which is what a human editor would do first.
"""

from __future__ import annotations

from dataclasses import dataclass

import blingfire

from pipelines.domain import Segment, Sentence

MAX_SENTENCE_WORDS = 45
PSEUDO_MIN_WORDS = 12
PSEUDO_MAX_WORDS = 30
PAUSE_S = 0.6
DISCOURSE_MARKERS = frozenset(
    [
        "so",
        "now",
        "okay",
        "ok",
        "alright",
        "anyway",
        "today",
        "first",
        "next",
        "finally",
        "then",
        "but",
        "because",
        "well",
        "remember",
        "let's",
        "here",
        "this",
        "that's",
        "what",
        "why",
        "how",
        "when",
    ]
)


@dataclass
class TimedWord:
    """A word with its time, when known, and whether it closes a caption segment (a hint for sentence cuts)."""

    text: str
    start: float | None
    end: float | None
    ends_segment: bool = False


def timed_words(segments: list[Segment]) -> list[TimedWord]:
    """Every word with a time: Whisper's own, else the segment's span shared out by word length."""
    words: list[TimedWord] = []
    for index, segment in enumerate(segments):
        following = segments[index + 1].start if index + 1 < len(segments) else None
        end = segment.end if segment.end is not None else following
        if segment.words:
            pieces = [TimedWord(w.text, w.start, w.end) for w in segment.words]
        else:
            tokens = segment.text.split()
            pieces = _interpolate(tokens, segment.start, end)
        if pieces:
            pieces[-1].ends_segment = True
        words.extend(pieces)
    return words


def _interpolate(tokens: list[str], start: float | None, end: float | None) -> list[TimedWord]:
    if start is None:
        return [TimedWord(t, None, None) for t in tokens]
    if end is None or end < start:
        end = start + 0.35 * len(tokens)
    weights = [len(t) + 1 for t in tokens]
    total = sum(weights) or 1
    span = end - start
    words = []
    cursor = start
    for token, weight in zip(tokens, weights, strict=True):
        step = span * weight / total
        words.append(TimedWord(token, round(cursor, 3), round(cursor + step, 3)))
        cursor += step
    return words


def split_sentences(words: list[TimedWord]) -> list[Sentence]:
    """Sentences by punctuation, with over-long or unpunctuated runs cut into pseudo-sentences; times from their words."""
    if not words:
        return []
    groups: list[list[TimedWord]] = []
    for group in _punctuation_groups(words):
        unpunctuated = not group[-1].text.rstrip("\"')]").endswith((".", "?", "!"))
        if len(group) > MAX_SENTENCE_WORDS or (unpunctuated and len(group) > 2 * PSEUDO_MIN_WORDS):
            groups.extend(_pseudo_sentences(group))
        else:
            groups.append(group)
    return [_sentence(group) for group in groups if group]


def segments_to_sentences(segments: list[Segment]) -> list[Sentence]:
    """Timed sentences of a transcript, whatever its captions' cut."""
    return split_sentences(timed_words(segments))


def join_with_offsets(pieces: list[str]) -> tuple[str, list[int]]:
    """``pieces`` joined by single spaces, and the character offset where each one starts in the joined text."""
    offsets: list[int] = []
    cursor = 0
    for piece in pieces:
        offsets.append(cursor)
        cursor += len(piece) + 1
    return " ".join(pieces), offsets


def _punctuation_groups(words: list[TimedWord]) -> list[list[TimedWord]]:
    """Split on sentence punctuation with blingfire, mapped back from characters to words."""
    text, starts = join_with_offsets([w.text for w in words])
    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    groups: list[list[TimedWord]] = []
    index = 0
    for _, end in offsets:
        group = []
        while index < len(words) and starts[index] < end:
            group.append(words[index])
            index += 1
        if group:
            groups.append(group)
    if index < len(words):
        groups.append(words[index:])
    return groups


def _pseudo_sentences(words: list[TimedWord]) -> list[list[TimedWord]]:
    groups: list[list[TimedWord]] = []
    current: list[TimedWord] = []
    for position, word in enumerate(words):
        current.append(word)
        following = words[position + 1] if position + 1 < len(words) else None
        if following is None or len(words) - position - 1 < 4:
            continue  # never leave a stub of one to three words behind
        size = len(current)
        pause = following.start - word.end if following.start is not None and word.end is not None else 0.0
        marker = following.text.lower().strip(",.") in DISCOURSE_MARKERS
        if (
            size >= PSEUDO_MAX_WORDS
            or (size >= PSEUDO_MIN_WORDS and (pause >= PAUSE_S or marker or (word.ends_segment and size >= 18)))
            or (size >= 8 and word.ends_segment and following.text[:1].isupper())
        ):
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return groups


def _sentence(group: list[TimedWord]) -> Sentence:
    starts = [w.start for w in group if w.start is not None]
    ends = [w.end for w in group if w.end is not None]
    return Sentence(
        text=" ".join(w.text for w in group),
        start=min(starts) if starts else None,
        end=max(ends) if ends else None,
    )
