"""WebVTT (.vtt), including YouTube's auto-caption flavour with inline word timestamps."""

from __future__ import annotations

from pipelines.corpus.transcripts.cue_blocks import parse_cues
from pipelines.corpus.transcripts.errors import TranscriptError
from pipelines.domain import Segment

_SKIPPED_BLOCKS = ("NOTE", "STYLE", "REGION")


def read_webvtt(text: str, warnings: list[str]) -> list[Segment]:
    """Timed segments of the cues, NOTE/STYLE/REGION blocks and markup removed; TranscriptError without a WEBVTT header."""
    lines = text.split("\n")
    if not lines or not lines[0].lstrip().startswith("WEBVTT"):
        raise TranscriptError("WebVTT file must start with 'WEBVTT'")
    kept: list[str] = []
    skipping = False
    for line in lines[1:]:
        stripped = line.strip()
        if not stripped:
            skipping = False
        elif stripped.split(" ", 1)[0] in _SKIPPED_BLOCKS and "-->" not in stripped:
            skipping = True
        if not skipping:
            kept.append(line)
    segments = parse_cues(kept, warnings, strip_tags=True)
    if not segments:
        raise TranscriptError("WebVTT file has no cues with text")
    return segments
