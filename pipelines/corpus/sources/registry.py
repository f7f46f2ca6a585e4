"""Turn a ledger source row (kind + location) into a live source object."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

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


class SourceLocationError(ValueError):
    """A location ``add-source`` cannot follow; the message says what is wrong in one line."""


_URLISH = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com"})
_SHORT_HOSTS = frozenset({"youtu.be", "www.youtu.be"})
_ID = r"[A-Za-z0-9_-]{11}"
_CHANNEL_TABS = r"(?:/(?:videos|streams|shorts|playlists|featured|live))?/?"
_YOUTUBE_PATHS = (
    re.compile(rf"^/(?:shorts|live|embed|v)/{_ID}/?$"),
    re.compile(rf"^/(?:@[^/]+|channel/UC[A-Za-z0-9_-]{{22}}|c/[^/]+|user/[^/]+){_CHANNEL_TABS}$"),
)
_LIST_ID = re.compile(r"^[A-Za-z0-9_-]{2,64}$")
_VIDEO_ID = re.compile(rf"^{_ID}$")


def kind_of(location: str) -> str:
    """URLs and YouTube host names are YouTube, as is a bare 11-character id that is not a path here; anything else is local."""
    if _URLISH.match(location) or location.lower().startswith(("www.youtube.com", "youtube.com", "m.youtube.com", "youtu.be")):
        return YOUTUBE
    if _VIDEO_ID.match(location) and not Path(location).exists():
        return YOUTUBE
    return LOCAL


# What a refusal may echo of a location: never a URL's user name or password, nor a user:password@ prefix
# typed without a scheme (which reads as a local path).
_AUTHORITY_USER = re.compile(r"(?<=//)[^/\s@]+@")
_USER_PASSWORD = re.compile(r"(?<![^/\s])[^/\s@:]+:[^/\s@]*@")


def without_credentials(location: str) -> str:
    """``location`` as it may be shown back: any ``user[:password]@`` in it dropped."""
    return _USER_PASSWORD.sub("", _AUTHORITY_USER.sub("", location))


def check_youtube_location(part: str) -> None:
    """Raise SourceLocationError unless ``part`` is a video id or a YouTube channel, playlist or video URL."""
    if _VIDEO_ID.match(part):
        return
    shown = without_credentials(part)
    url = part if _URLISH.match(part) else f"https://{part}"
    try:
        parsed = urlsplit(url)
        host = (parsed.hostname or "").lower()
        port = parsed.port  # raises for a port that is not a number in 0-65535
    except ValueError as error:
        raise SourceLocationError(f"{shown} is not a valid web address ({error}); give a YouTube URL or a local folder") from None
    if parsed.username is not None or parsed.password is not None:
        raise SourceLocationError(f"{shown} carries a user name or password; YouTube sources take none (leave them out)")
    if port not in (None, 80, 443):
        raise SourceLocationError(f"{shown} names port {port}; YouTube is served on the standard ports (leave the port out)")
    if parsed.scheme.lower() not in ("http", "https"):
        raise SourceLocationError(f"{shown} is not a web address (scheme {parsed.scheme or 'none'}); give a YouTube URL or a local folder")
    if host in _SHORT_HOSTS:
        if re.match(rf"^/{_ID}/?$", parsed.path):
            return
        raise SourceLocationError(f"{shown} is not a youtu.be video link (expected https://youtu.be/<11-character id>)")
    if host not in _YOUTUBE_HOSTS:
        raise SourceLocationError(
            f"{shown} is not a YouTube URL (host {host or 'missing'}); give a youtube.com or youtu.be channel, playlist or video URL, or a local folder"
        )
    query = parse_qs(parsed.query)
    if parsed.path in ("/watch", "/watch/") and any(_VIDEO_ID.match(v) for v in query.get("v", [])):
        return
    if parsed.path in ("/playlist", "/playlist/") and any(_LIST_ID.match(v) for v in query.get("list", [])):
        return
    if any(pattern.match(parsed.path) for pattern in _YOUTUBE_PATHS):
        return
    raise SourceLocationError(
        f"{shown} is not a YouTube channel, playlist or video URL "
        "(expected /@handle, /channel/UC…, /playlist?list=…, /watch?v=…, /shorts/…, or youtu.be/…)"
    )


def check_location(parts: list[str]) -> tuple[str, str]:
    """The kind and normalised location of what the user typed; SourceLocationError says why it cannot be followed.

    Several parts must all be YouTube videos/URLs; a local source is one existing folder.
    """
    if not parts or not any(p.strip() for p in parts):
        raise SourceLocationError("no location given")
    kinds = {kind_of(p) for p in parts}
    if kinds == {YOUTUBE}:
        for part in re.split(r"[\s,]+", " ".join(parts).strip()):
            if part:
                check_youtube_location(part)
        return YOUTUBE, normalise_location(" ".join(parts))
    if len(parts) > 1:
        raise SourceLocationError("give one local folder per add-source (several locations are only for YouTube videos)")
    location = normalise_location(parts[0])
    path = Path(location)
    if not path.exists():
        raise SourceLocationError(f"no such folder: {without_credentials(location)}")
    if not path.is_dir():
        raise SourceLocationError(
            f"{without_credentials(location)} is not a folder (a local source is a folder of recordings and transcripts)"
        )
    return LOCAL, location


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
