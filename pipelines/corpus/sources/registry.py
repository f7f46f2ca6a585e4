"""Turn a ledger source row (kind + location) into a live source object."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from pipelines.corpus.sources.local import LocalSource
from pipelines.corpus.sources.video_ref import LOCAL, YOUTUBE, VideoRef
from pipelines.corpus.sources.youtube import YouTubeSource
from pipelines.freshness.ledger import Source
from pipelines.settings import Settings


class VideoSource(Protocol):
    """What the engine needs of a source: its id, a listing, and the warnings of the last listing."""

    source_id: str
    warnings: list[str]

    def list_videos(self) -> list[VideoRef]:
        """Every video the source holds now."""
        ...


def kind_of(location: str) -> str:
    """URLs (and bare 11-character ids) are YouTube; anything else is a local path."""
    if location.startswith(("http://", "https://", "www.youtube.com", "youtube.com", "youtu.be")):
        return YOUTUBE
    return LOCAL


def normalise_location(location: str) -> str:
    """One spelling per source: local paths absolute, URLs stripped (so a source is never added twice)."""
    if kind_of(location) == LOCAL:
        return str(Path(location).expanduser().resolve())
    return location.strip()


def build_source(source: Source, settings: Settings, **youtube_options: Any) -> VideoSource:
    """The live source for a ledger row; ``youtube_options`` reach ``YouTubeSource`` (tests pass their transports)."""
    if source.kind == LOCAL:
        return LocalSource(source.source_id, Path(source.location))
    if source.kind == YOUTUBE:
        return YouTubeSource(
            source.source_id,
            source.location,
            languages=settings.caption_language_list,
            allow_auto_captions=settings.allow_auto_captions,
            timeout_s=settings.download_timeout_s,
            **youtube_options,
        )
    raise ValueError(f"unknown source kind {source.kind!r}")
