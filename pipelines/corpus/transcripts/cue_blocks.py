"""Shared by SRT and WebVTT: turn blank-line separated cue blocks into timed segments.

Both formats are "optional identifier line, timing line, text lines". Real files break that in
every way (missing index lines, no blank line between cues, broken or backwards times), so the
parser keys on the timing line and reports each oddity as a warning instead of failing the file.
"""

from __future__ import annotations

import re

from pipelines.corpus.transcripts.timecodes import CUE_TIMING, LOOSE_ARROW, timecode_to_seconds
from pipelines.domain import Segment

_TAG = re.compile(r"<[^>]*>")
_SSA_OVERRIDE = re.compile(r"\{\\[^}]*\}")


def parse_cues(lines: list[str], warnings: list[str], *, strip_tags: bool) -> list[Segment]:
    """Read cues from lines; a line with ``-->`` starts a cue, text runs to the next blank line."""
    segments: list[Segment] = []
    index = 0
    broken = backwards = 0
    while index < len(lines):
        line = lines[index]
        if not LOOSE_ARROW.search(line):
            index += 1
            continue
        match = CUE_TIMING.match(line)
        start: float | None
        end: float | None
        start = end = None
        if match:
            try:
                start = timecode_to_seconds(match["start"])
                end = timecode_to_seconds(match["end"])
            except ValueError:
                broken += 1
                start = end = None
        else:
            broken += 1
        index += 1
        text_lines: list[str] = []
        while index < len(lines) and lines[index].strip() and not LOOSE_ARROW.search(lines[index]):
            text_lines.append(lines[index].strip())
            index += 1
        # A numeric line right before the next timing line is that cue's index, not text.
        if text_lines and index < len(lines) and LOOSE_ARROW.search(lines[index]) and text_lines[-1].isdigit():
            text_lines.pop()
        text = " ".join(text_lines)
        if strip_tags:
            text = _TAG.sub("", text)
        text = _SSA_OVERRIDE.sub("", text).replace("&nbsp;", " ").replace("&amp;", "&")
        text = " ".join(text.split())
        if start is not None and end is not None and end < start:
            backwards += 1
            end = start
        if text:
            segments.append(Segment(text=text, start=start, end=end))
    if broken:
        warnings.append(f"{broken} cue(s) with unreadable timestamps kept without timing")
    if backwards:
        warnings.append(f"{backwards} cue(s) ended before they started; end set to start")
    _check_order(segments, warnings)
    return segments


def _check_order(segments: list[Segment], warnings: list[str]) -> None:
    last = None
    out_of_order = 0
    for segment in segments:
        if segment.start is None:
            continue
        if last is not None and segment.start + 0.5 < last:
            out_of_order += 1
        last = segment.start
    if out_of_order:
        warnings.append(f"{out_of_order} cue(s) start before the previous one (timestamps go backwards)")
