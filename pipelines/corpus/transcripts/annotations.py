"""Caption annotations that are not speech: ``[Music]``, ``(subtle blast)``, ``♪``, speaker dashes.

They would be quoted back to students and embedded as if they were content, so they go before
sentences are built. Only bracketed text and all-lowercase parentheticals are removed: a spoken
"(PyTorch)" or "(a + b)" survives.
"""

from __future__ import annotations

import re

from pipelines.domain import Segment

_BRACKETED = re.compile(r"\[[^\]\n]{1,40}\]")
_SOUND = re.compile(r"\((?:[a-z][a-z ]{1,30})\)")
_MUSIC = re.compile(r"[♪♫]+")
_SPEAKER_DASH = re.compile(r"^\s*-\s+|(?<=[.?!])\s+-\s+")


def strip_annotations(segments: list[Segment]) -> list[Segment]:
    """Segments without their non-speech annotations; segments left empty are dropped, changed ones lose word times."""
    cleaned = []
    for segment in segments:
        text = _BRACKETED.sub(" ", segment.text)
        text = _SOUND.sub(" ", text)
        text = _MUSIC.sub(" ", text)
        text = _SPEAKER_DASH.sub(" ", text)
        text = " ".join(text.split())
        if not text:
            continue
        if text == segment.text:
            cleaned.append(segment)
        else:
            cleaned.append(Segment(text, segment.start, segment.end, None))
    return cleaned
