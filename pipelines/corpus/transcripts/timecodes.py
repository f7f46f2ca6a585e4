"""Caption timecodes (``00:01:02,345``, ``01:02.345``, ``1:02:03.4``) to seconds."""

from __future__ import annotations

import re

# Hours optional (WebVTT allows mm:ss.fff); comma or dot before the fraction; 1-3 fraction digits.
TIMECODE = r"(?:\d{1,3}:)?\d{1,2}:\d{1,2}(?:[.,]\d{1,3})?"
CUE_TIMING = re.compile(rf"^\s*(?P<start>{TIMECODE})\s*-->\s*(?P<end>{TIMECODE})(?P<settings>.*)$")
LOOSE_ARROW = re.compile(r"-->")
# No recording runs a week; a later time is a corrupt field, and kept it would become a deep link nobody can open.
MAX_TIME_S = 7 * 24 * 3600.0


def timecode_to_seconds(code: str) -> float:
    """Seconds from a timecode; ValueError when minutes or seconds are 60 or more."""
    parts = code.strip().replace(",", ".").split(":")
    seconds = float(parts[-1])
    minutes = int(parts[-2])
    hours = int(parts[-3]) if len(parts) == 3 else 0
    if minutes >= 60 or seconds >= 60:
        raise ValueError(f"timecode {code!r} has minutes or seconds over 59")
    total = hours * 3600 + minutes * 60 + seconds
    if total > MAX_TIME_S:
        raise ValueError(f"timecode {code!r} is later than a week")
    return total
