"""SubRip (.srt): index lines optional, BOM and CRLF already removed by decoding, multi-line cues."""

from __future__ import annotations

from pipelines.corpus.transcripts.cue_blocks import parse_cues
from pipelines.corpus.transcripts.errors import TranscriptError
from pipelines.domain import Segment


def read_srt(text: str, warnings: list[str]) -> list[Segment]:
    """Timed segments of the cues, markup removed; TranscriptError when no cue has text."""
    segments = parse_cues(text.split("\n"), warnings, strip_tags=True)
    if not segments:
        raise TranscriptError("SRT file has no cues with text")
    return segments
