"""Write transcription results as SRT or as the Whisper-style JSON our transcript readers read back."""

from __future__ import annotations

import json
from typing import Any

from pipelines.domain import Segment


def srt_timestamp(seconds: float) -> str:
    """``HH:MM:SS,mmm`` rounded to the millisecond; negative times are written as zero."""
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def to_srt(segments: list[Segment]) -> str:
    """Numbered SRT cues; an untimed start is written as 0 and a missing end as the start."""
    blocks = []
    for index, segment in enumerate(segments, start=1):
        start = segment.start or 0.0
        end = segment.end if segment.end is not None else start
        blocks.append(f"{index}\n{srt_timestamp(start)} --> {srt_timestamp(end)}\n{segment.text}\n")
    return "\n".join(blocks)


def segments_payload(segments: list[Segment], **meta: Any) -> dict[str, Any]:
    """``{"segments": [{"start", "end", "text", "words": [{"word", "start", "end"}]}], ...meta}``."""
    items = []
    for segment in segments:
        item: dict[str, Any] = {"start": segment.start, "end": segment.end, "text": segment.text}
        if segment.words:
            item["words"] = [{"word": w.text, "start": w.start, "end": w.end} for w in segment.words]
        items.append(item)
    return {**meta, "segments": items}


def to_json(segments: list[Segment], **meta: Any) -> str:
    """``segments_payload`` as JSON text, in the shape the JSON transcript reader reads back."""
    return json.dumps(segments_payload(segments, **meta), ensure_ascii=False, indent=1)
