"""Untimed text: one long run of words (YouTube's transcript copy-paste) or one fragment per line."""

from __future__ import annotations

from pipelines.corpus.transcripts.errors import TranscriptError
from pipelines.domain import Segment


def read_plain_text(text: str, warnings: list[str]) -> list[Segment]:
    """One untimed segment per non-blank line, with a warning that citations cannot jump to a moment."""
    lines = [" ".join(line.split()) for line in text.split("\n")]
    lines = [line for line in lines if line]
    if not lines:
        raise TranscriptError("text file has no words")
    warnings.append("plain text has no timestamps; citations will link to the start of the video")
    return [Segment(text=line) for line in lines]
