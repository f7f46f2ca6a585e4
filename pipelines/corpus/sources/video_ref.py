"""``VideoRef``: one video as a source lists it, before anything has been fetched or transcribed.

It carries just enough to decide whether work is needed (``fingerprint`` changes whenever the
source's copy changes) and to do the work later (media path, transcript files, URL), and it
serialises to JSON so the ledger can keep it between runs.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from pipelines.domain import Video

YOUTUBE = "youtube"
LOCAL = "local"


@dataclass(frozen=True)
class VideoRef:
    """One video as its source lists it; the ledger stores it as JSON."""

    video_id: str
    title: str
    url: str
    source_id: str
    kind: str  # youtube | local
    published: str | None = None  # ISO date (YYYY-MM-DD) when the source knows it
    duration_s: float | None = None
    series: str = ""
    media_path: str | None = None
    transcript_paths: tuple[str, ...] = field(default_factory=tuple)
    fingerprint: str = ""

    def to_video(self) -> Video:
        """The domain view used for chunk and summary metadata."""
        return Video(video_id=self.video_id, title=self.title, url=self.url, source=self.series, duration_s=self.duration_s)

    def to_json(self) -> str:
        """Stable JSON (sorted keys), so an unchanged listing compares equal."""
        data = asdict(self)
        data["transcript_paths"] = list(self.transcript_paths)
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> VideoRef:
        """The inverse of ``to_json``."""
        data: dict[str, Any] = json.loads(text)
        data["transcript_paths"] = tuple(data.get("transcript_paths") or ())
        return cls(**data)


def fingerprint_of(*parts: object) -> str:
    """A short stable hash of whatever identifies the source's current copy of a video."""
    payload = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]
