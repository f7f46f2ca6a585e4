"""JSON transcripts in the shapes tools actually emit.

- Whisper / faster-whisper: ``{"segments": [{"start", "end", "text", "words": [...]}]}``
- sentence timings: ``[["text", start, end], ...]``
- youtube-transcript-api: ``[{"text", "start", "duration"}, ...]``
- YouTube json3 captions: ``{"events": [{"tStartMs", "dDurationMs", "segs": [{"utf8"}]}]}``
"""

from __future__ import annotations

import json
import math
from typing import Any

from pipelines.corpus.transcripts.errors import TranscriptError
from pipelines.corpus.transcripts.timecodes import MAX_TIME_S
from pipelines.domain import Segment, Word


def read_json_segments(text: str, warnings: list[str]) -> list[Segment]:
    """Segments of any of the JSON shapes above; items that are not segments are skipped with a warning."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise TranscriptError(f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise TranscriptError("JSON is nested too deeply to be a transcript (segments are two or three levels deep)") from None
    except ValueError as error:  # e.g. an integer with thousands of digits
        raise TranscriptError(f"invalid JSON: {str(error).splitlines()[0][:120]}") from None
    if isinstance(data, dict):
        if isinstance(data.get("segments"), list):
            items = data["segments"]
        elif isinstance(data.get("events"), list):
            return _youtube_json3(data["events"], warnings)
        elif isinstance(data.get("transcript"), list):
            items = data["transcript"]
        else:
            raise TranscriptError("JSON object has no 'segments' or 'events' list")
    elif isinstance(data, list):
        items = data
    else:
        raise TranscriptError("JSON transcript must be a list of segments or an object with 'segments'")
    segments: list[Segment] = []
    skipped = bad_times = 0
    for item in items:
        segment = _segment(item)
        if segment is None:
            skipped += 1
        elif segment.text:
            segments.append(segment)
            bad_times += _has_bad_time(item)
    if skipped:
        warnings.append(f"{skipped} JSON item(s) were not segments and were skipped")
    if bad_times:
        warnings.append(f"{bad_times} segment(s) had impossible times (negative, NaN, infinite or over a week); their timing was dropped")
    if not segments:
        raise TranscriptError("JSON transcript has no segments with text")
    return segments


def _number(value: Any, unit_s: float = 1.0) -> float | None:
    """Seconds from a JSON time in ``unit_s`` units; None for anything that is not a plausible time."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        number = float(value) * unit_s
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) and 0 <= number <= MAX_TIME_S else None


def _has_bad_time(item: Any) -> bool:
    """Whether a segment gave a time that ``_number`` refused (as opposed to giving none)."""
    if isinstance(item, (list, tuple)):
        values = list(item[1:3])
    else:
        values = [item.get(key) for key in ("start", "end", "duration")]
    return any(value is not None and _number(value) is None for value in values)


def _segment(item: Any) -> Segment | None:
    if isinstance(item, (list, tuple)) and item and isinstance(item[0], str):
        start = _number(item[1]) if len(item) > 1 else None
        end = _number(item[2]) if len(item) > 2 else None
        return _ordered(" ".join(item[0].split()), start, end, None)
    if not isinstance(item, dict) or not isinstance(item.get("text"), str):
        return None
    start = _number(item.get("start"))
    end = _number(item.get("end"))
    duration = _number(item.get("duration"))
    if end is None and start is not None and duration is not None:
        end = start + duration
    words = None
    if isinstance(item.get("words"), list):
        words = (
            tuple(
                Word(text=str(w.get("word", w.get("text", ""))).strip(), start=_number(w.get("start")), end=_number(w.get("end")))
                for w in item["words"]
                if isinstance(w, dict) and str(w.get("word", w.get("text", ""))).strip()
            )
            or None
        )
    return _ordered(" ".join(item["text"].split()), start, end, words)


def _ordered(text: str, start: float | None, end: float | None, words: tuple[Word, ...] | None) -> Segment:
    if start is not None and end is not None and end < start:
        end = start
    return Segment(text=text, start=start, end=end, words=words)


def _youtube_json3(events: list[Any], warnings: list[str]) -> list[Segment]:
    segments = []
    for event in events:
        if not isinstance(event, dict) or not isinstance(event.get("segs"), list):
            continue
        text = " ".join("".join(str(s.get("utf8", "")) for s in event["segs"] if isinstance(s, dict)).split())
        start = _number(event.get("tStartMs"), 0.001)
        duration = _number(event.get("dDurationMs"), 0.001)
        if not text:
            continue
        end = start + duration if start is not None and duration is not None else None
        segments.append(Segment(text=text, start=start, end=end))
    if not segments:
        raise TranscriptError("YouTube caption JSON has no events with text")
    return segments
