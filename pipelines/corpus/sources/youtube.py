"""YouTube source: list a channel, a playlist or a list of video URLs; fetch captions or audio.

- Listing and metadata: yt-dlp with ``extract_flat`` (one request per page of the channel, nothing
  downloaded). Full per-video metadata (publish date, duration, formats) is read only when a video
  is processed.
- Captions: youtube-transcript-api; human captions in the configured languages first, then
  auto-generated ones (when allowed). "No captions" is not a failure: the video goes to Whisper.
- Audio: yt-dlp ``bestaudio`` into the data dir; ``.part`` files make a killed download resume.

Both libraries take their transport from us (a ``requests.Session`` for captions, an info-JSON
folder in place of yt-dlp's network extraction, as ``yt-dlp --load-info-json`` does), which is how
tests serve recorded YouTube responses from a local server through the real parsers.
"""

from __future__ import annotations

import errno
import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from pipelines.corpus.sources.video_ref import YOUTUBE, VideoRef, fingerprint_of
from pipelines.domain import youtube_url
from pipelines.freshness.faults import VideoFailure

logger = logging.getLogger(__name__)

_VIDEO_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
_PERMANENT_DOWNLOAD = (
    ("private video", "video is private"),
    ("video unavailable", "video is unavailable (deleted or blocked)"),
    ("this video is unavailable", "video is unavailable (deleted or blocked)"),
    ("has been removed", "video has been removed"),
    ("confirm your age", "video is age-restricted (needs a signed-in account)"),
    ("age-restricted", "video is age-restricted (needs a signed-in account)"),
    ("members-only", "video is for channel members only"),
    ("requested format is not available", "no downloadable audio format"),
)


@dataclass
class Captions:
    """Caption snippets as youtube-transcript-api returned them, plus which track they came from."""

    raw: list[dict[str, Any]]
    language_code: str
    is_generated: bool

    @property
    def method(self) -> str:
        """How the transcript was made, as the ledger records it (``captions:<lang>:human|auto``)."""
        return f"captions:{self.language_code}:{'auto' if self.is_generated else 'human'}"

    def to_json(self) -> str:
        """The snippets as JSON our transcript readers parse."""
        return json.dumps(self.raw, ensure_ascii=False)


class InfoJsonFolder:
    """yt-dlp info JSON files (``yt-dlp --write-info-json``) looked up by URL or id, offline."""

    def __init__(self, directory: Path) -> None:
        self.by_key: dict[str, Path] = {}
        for path in sorted(directory.glob("*.json")):
            info = json.loads(path.read_text(encoding="utf-8"))
            for key in ("webpage_url", "original_url", "url", "id"):
                if isinstance(info.get(key), str):
                    self.by_key.setdefault(info[key], path)

    def __call__(self, url: str) -> dict[str, Any]:
        """The recorded info for a URL or id; an unknown one fails as yt-dlp does for an unavailable video."""
        key = url if url in self.by_key else _video_id_from_url(url) or url
        path = self.by_key.get(key)
        if path is None:
            from yt_dlp.utils import DownloadError

            raise DownloadError(f"ERROR: [youtube] {key}: Video unavailable. This video is unavailable")
        return json.loads(path.read_text(encoding="utf-8"))


def _video_id_from_url(url: str) -> str | None:
    match = re.search(r"(?:v=|youtu\.be/|/shorts/|/live/)([A-Za-z0-9_-]{11})", url)
    if match:
        return match.group(1)
    return url if _VIDEO_ID.match(url) else None


def _iso_date(info: dict[str, Any]) -> str | None:
    date = info.get("upload_date") or info.get("release_date")
    if isinstance(date, str) and len(date) == 8 and date.isdigit():
        return f"{date[:4]}-{date[4:6]}-{date[6:]}"
    timestamp = info.get("timestamp") or info.get("release_timestamp")
    if isinstance(timestamp, (int, float)):
        from datetime import datetime

        return datetime.fromtimestamp(timestamp, tz=UTC).date().isoformat()
    return None


class YouTubeSource:
    """One channel/playlist URL, or several video URLs separated by spaces or commas."""

    def __init__(
        self,
        source_id: str,
        location: str,
        *,
        languages: list[str] | None = None,
        allow_auto_captions: bool = True,
        timeout_s: float = 30.0,
        http_client: Any = None,
        info_loader: Callable[[str], dict[str, Any]] | None = None,
    ) -> None:
        self.source_id = source_id
        self.location = location
        self.languages = languages or ["en"]
        self.allow_auto_captions = allow_auto_captions
        self.timeout_s = timeout_s
        self.http_client = http_client
        self.info_loader = info_loader
        self.warnings: list[str] = []

    # -- yt-dlp ----------------------------------------------------------------------------------

    def _ydl(self, **extra: Any) -> Any:
        from yt_dlp import YoutubeDL

        params: dict[str, Any] = {
            "quiet": True,
            "no_warnings": True,
            "noprogress": True,
            "skip_download": True,
            "socket_timeout": self.timeout_s,
            "ignoreerrors": False,
            "logger": logger,
        }
        params.update(extra)
        return YoutubeDL(params)

    def _raw_info(self, ydl: Any, url: str) -> dict[str, Any]:
        """Unprocessed info: from yt-dlp's extractors, or from the info-JSON loader."""
        if self.info_loader is not None:
            return self.info_loader(url)
        return ydl.extract_info(url, download=False, process=False)

    def _urls(self) -> list[str]:
        parts = [p for p in re.split(r"[\s,]+", self.location.strip()) if p]
        urls = []
        for part in parts:
            if _VIDEO_ID.match(part):
                part = youtube_url(part)
            elif re.search(r"youtube\.com/(@[^/]+|c/[^/]+|channel/[^/]+|user/[^/]+)/?$", part):
                part = part.rstrip("/") + "/videos"  # the uploads tab, not the channel's tab list
            urls.append(part)
        return urls

    def list_videos(self) -> list[VideoRef]:
        """Every video of the source, from flat listings (no per-video requests)."""
        refs: dict[str, VideoRef] = {}
        self.warnings = []
        with self._ydl(extract_flat="in_playlist") as ydl:
            for url in self._urls():
                self._collect(ydl, url, refs, depth=0)
        return list(refs.values())

    def _collect(self, ydl: Any, url: str, refs: dict[str, VideoRef], depth: int, entry: dict[str, Any] | None = None) -> None:
        info = ydl.process_ie_result(self._raw_info(ydl, url), download=False) if entry is None else entry
        kind = info.get("_type", "video")
        if kind in ("playlist", "multi_video"):
            for child in info.get("entries") or []:
                if child is None:
                    self.warnings.append(f"{url}: an unavailable entry was skipped")
                    continue
                child_type = child.get("_type", "video")
                is_video = child.get("ie_key") in (None, "Youtube") and _VIDEO_ID.match(str(child.get("id", "")))
                if child_type in ("url", "url_transparent") and not is_video:
                    if depth < 2:  # channel tab → its playlist
                        self._collect(ydl, child["url"], refs, depth + 1)
                    continue
                self._collect(ydl, url, refs, depth + 1, entry=child)
            return
        if kind in ("url", "url_transparent") and entry is None:
            self._collect(ydl, info["url"], refs, depth + 1)
            return
        video_id = str(info.get("id") or "")
        if not _VIDEO_ID.match(video_id):
            self.warnings.append(f"{url}: entry without a YouTube video id skipped")
            return
        refs[video_id] = self._ref(info, playlist_title=info.get("playlist_title") or info.get("playlist") or "")

    def _ref(self, info: dict[str, Any], playlist_title: str = "") -> VideoRef:
        video_id = str(info["id"])
        title = str(info.get("title") or video_id)
        duration = info.get("duration")
        return VideoRef(
            video_id=video_id,
            title=title,
            url=youtube_url(video_id),
            source_id=self.source_id,
            kind=YOUTUBE,
            published=_iso_date(info),
            duration_s=float(duration) if isinstance(duration, (int, float)) else None,
            series=str(info.get("channel") or info.get("uploader") or playlist_title or ""),
            fingerprint=fingerprint_of(YOUTUBE, video_id),
        )

    def video_info(self, ref: VideoRef) -> dict[str, Any]:
        """Full, processed metadata of one video (publish date, duration, formats, availability)."""
        with self._ydl(format="bestaudio/best") as ydl:
            try:
                info = ydl.process_ie_result(self._raw_info(ydl, ref.url), download=False)
            except Exception as error:
                raise _download_failure(error) from None
        _check_playable(info)
        return info

    def enrich(self, ref: VideoRef, info: dict[str, Any]) -> VideoRef:
        """The listed ref with the publish date, duration and title from full metadata."""
        full = self._ref(info)
        return VideoRef(
            **{
                **ref.__dict__,
                "title": full.title or ref.title,
                "published": full.published or ref.published,
                "duration_s": full.duration_s or ref.duration_s,
                "series": ref.series or full.series,
            }
        )

    def download_audio(self, ref: VideoRef, directory: Path) -> Path:
        """Best audio-only format to ``directory/<id>.<ext>``; a killed download resumes (.part)."""
        directory.mkdir(parents=True, exist_ok=True)
        params = {
            "skip_download": False,
            "format": "bestaudio/best",
            "outtmpl": str(directory / "%(id)s.%(ext)s"),
            "continuedl": True,
            "retries": 3,
            "fragment_retries": 3,
            "overwrites": False,
            "noplaylist": True,
            "fixup": "never",  # we decode with PyAV/FFmpeg anyway; container fix-ups are wasted work
        }
        with self._ydl(**params) as ydl:
            try:
                raw = self._raw_info(ydl, ref.url)
                _check_playable(raw)
                info = ydl.process_ie_result(raw, download=True)
            except VideoFailure:
                raise
            except Exception as error:
                raise _download_failure(error) from None
        downloads = info.get("requested_downloads") or []
        path = Path(downloads[0]["filepath"]) if downloads and downloads[0].get("filepath") else None
        if path is None or not path.exists():
            raise VideoFailure("yt-dlp reported success but no audio file was written", retryable=True)
        return path

    # -- captions ----------------------------------------------------------------------------------

    def fetch_captions(self, ref: VideoRef) -> Captions | None:
        """Captions in the configured languages (human first), or None when the video has none."""
        from youtube_transcript_api import YouTubeTranscriptApi
        from youtube_transcript_api import _errors as yt_errors

        api = YouTubeTranscriptApi(http_client=self.http_client) if self.http_client is not None else YouTubeTranscriptApi()
        try:
            tracks = api.list(ref.video_id)
            try:
                track = tracks.find_manually_created_transcript(self.languages)
            except yt_errors.NoTranscriptFound:
                if not self.allow_auto_captions:
                    return None
                track = tracks.find_generated_transcript(self.languages)
            fetched = track.fetch()
        except (yt_errors.TranscriptsDisabled, yt_errors.NoTranscriptFound, yt_errors.PoTokenRequired):
            return None
        except (yt_errors.VideoUnavailable, yt_errors.InvalidVideoId):
            raise VideoFailure("video is unavailable (private, deleted or wrong id)", retryable=False) from None
        except yt_errors.AgeRestricted:
            raise VideoFailure("video is age-restricted (captions need a signed-in account)", retryable=False) from None
        except yt_errors.VideoUnplayable as error:
            reason = getattr(error, "reason", None) or "video is unplayable"
            raise VideoFailure(f"video is unplayable: {reason}", retryable=False) from None
        except (yt_errors.IpBlocked, yt_errors.RequestBlocked):
            raise VideoFailure("YouTube is throttling or blocking our requests (captions)", retryable=True) from None
        except yt_errors.YouTubeRequestFailed as error:
            raise VideoFailure(f"caption request failed: {str(error).splitlines()[0] if str(error) else error}", retryable=True) from None
        except yt_errors.CouldNotRetrieveTranscript as error:
            raise VideoFailure(f"captions could not be retrieved: {type(error).__name__}", retryable=True) from None
        raw = fetched.to_raw_data()
        if not any(item.get("text", "").strip() for item in raw):
            return None
        return Captions(raw=raw, language_code=fetched.language_code, is_generated=fetched.is_generated)


def _check_playable(info: dict[str, Any]) -> None:
    availability = info.get("availability")
    if availability in ("private", "needs_auth", "subscriber_only", "premium_only"):
        raise VideoFailure(f"video is not public ({availability})", retryable=False)
    if isinstance(info.get("age_limit"), int) and info["age_limit"] >= 18:
        raise VideoFailure("video is age-restricted (needs a signed-in account)", retryable=False)
    if info.get("live_status") in ("is_upcoming", "is_live"):
        raise VideoFailure(f"video is {info['live_status'].replace('is_', '')}; will try again later", retryable=True)


def _download_failure(error: BaseException) -> VideoFailure:
    cause = getattr(error, "exc_info", None)
    inner = cause[1] if cause and len(cause) > 1 else None
    for candidate in (inner, error, error.__cause__, error.__context__):
        if isinstance(candidate, OSError) and candidate.errno == errno.ENOSPC:
            return VideoFailure("disk full while downloading audio; free space and it will be retried", retryable=True)
    message = str(error).replace("ERROR: ", "").strip()
    lowered = message.lower()
    for needle, reason in _PERMANENT_DOWNLOAD:
        if needle in lowered:
            return VideoFailure(reason, retryable=False)
    if "429" in lowered or "too many requests" in lowered:
        return VideoFailure("YouTube is throttling downloads (HTTP 429)", retryable=True)
    first_line = message.splitlines()[0] if message else type(error).__name__
    return VideoFailure(f"download failed: {first_line[:300]}", retryable=True)
