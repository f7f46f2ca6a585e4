"""Remove what the recogniser or the caption track said twice.

Three real patterns: the same cue repeated back to back (caption exporters, YouTube's rolling
auto-captions where each cue repeats the previous line before adding words), and Whisper's
hallucination loop where one phrase is emitted over and over ("Thank you. Thank you. Thank you.").
"""

from __future__ import annotations

import re

from pipelines.domain import Segment

_NORMALISE = re.compile(r"[^\w]+")
MAX_PHRASE_REPEATS = 2
LOOP_MIN_WORDS = 4


def _norm_words(text: str) -> list[str]:
    return [w for w in _NORMALISE.sub(" ", text.lower()).split() if w]


def collapse_repeats(segments: list[Segment]) -> tuple[list[Segment], int]:
    """Return cleaned segments and how many were dropped or trimmed."""
    changed = 0
    merged: list[Segment] = []
    for segment in segments:
        if merged and _norm_words(segment.text) == _norm_words(merged[-1].text):
            previous = merged[-1]
            merged[-1] = Segment(previous.text, previous.start, _later(previous.end, segment.end), previous.words)
            changed += 1
            continue
        if merged:
            trimmed = _trim_rolling_prefix(merged[-1].text, segment.text)
            if trimmed != segment.text:
                changed += 1
                if not trimmed:
                    previous = merged[-1]
                    merged[-1] = Segment(previous.text, previous.start, _later(previous.end, segment.end), previous.words)
                    continue
                segment = Segment(trimmed, segment.start, segment.end, None)
        text = collapse_phrase_loops(segment.text)
        if text != segment.text:
            changed += 1
            segment = Segment(text, segment.start, segment.end, None)
        merged.append(segment)
    merged, loops = _collapse_segment_loops(merged)
    return merged, changed + loops


def _later(a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _trim_rolling_prefix(previous: str, current: str) -> str:
    """YouTube rolling captions: cue N+1 starts with the whole of cue N; keep only the new words."""
    before = previous.split()
    words = current.split()
    if len(before) < 3 or len(words) <= len(before):
        return current if len(before) < 3 or _norm_words(current) != _norm_words(previous) else ""
    if _norm_words(" ".join(words[: len(before)])) == _norm_words(previous):
        return " ".join(words[len(before) :])
    return current


def _is_loop(size: int, repeats: int) -> bool:
    """People say "no, no, no" or "big, big, big"; Whisper loops say a phrase many more times."""
    return repeats >= 5 or (repeats >= 3 and size * repeats >= 12)


def collapse_phrase_loops(text: str) -> str:
    """Within one text, replace a phrase looped back to back (see :func:`_is_loop`) by one copy."""
    words = text.split()
    if len(words) < 5:
        return text
    keys = [w.lower().strip(".,!?;:\"'") for w in words]
    out: list[str] = []
    i = 0
    while i < len(words):
        for size in range(1, 13):
            phrase = keys[i : i + size]
            repeats = 1
            while keys[i + repeats * size : i + (repeats + 1) * size] == phrase:
                repeats += 1
            if _is_loop(size, repeats):
                out.extend(words[i : i + size])
                i += size * repeats
                break
        else:
            out.append(words[i])
            i += 1
    return " ".join(out)


def _collapse_segment_loops(segments: list[Segment]) -> tuple[list[Segment], int]:
    """Whisper loops across segments: the same short segment text recurring A B A B ... is cut."""
    out: list[Segment] = []
    dropped = 0
    for segment in segments:
        key = _norm_words(segment.text)
        recent = [_norm_words(s.text) for s in out[-4:]]
        if LOOP_MIN_WORDS <= len(key) <= 12 and recent.count(key) >= MAX_PHRASE_REPEATS:
            dropped += 1
            continue
        out.append(segment)
    return out, dropped
