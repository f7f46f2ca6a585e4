"""A local HTTP server that speaks YouTube's wire format from recorded responses.

It serves what youtube-transcript-api requests (the watch page with the innertube API key, the
innertube ``player`` response, caption XML from ``/api/timedtext``) and what yt-dlp downloads
(``/videoplayback/<file>``, optionally cut off mid-body to simulate a dropped connection). The
real libraries talk to it: captions through a ``requests.Session`` whose transport adapter sends
``https://www.youtube.com/...`` to this server; yt-dlp through recorded info JSON whose media URLs
point here.
"""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs, urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from tests.fakes.local_http import LocalHTTPServer

WATCH_HTML = """<!DOCTYPE html><html><head><title>{vid} - YouTube</title></head><body>
<script>var ytcfg={{}};ytcfg.set({{"INNERTUBE_API_KEY":"AIzaSyTestRecordedKey_000000000000000","INNERTUBE_CLIENT_NAME":"WEB"}});</script>
<div id="player"></div></body></html>"""
UNAVAILABLE = {"playabilityStatus": {"status": "ERROR", "reason": "This video is unavailable"}}


class RecordedYouTube(LocalHTTPServer):
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.media: dict[str, bytes] = {}
        self.truncate: set[str] = set()
        self.requests: list[str] = []
        super().__init__(self._handler())

    @property
    def base_url(self) -> str:
        return self.url

    def session(self) -> requests.Session:
        """A Session whose transport sends www.youtube.com requests to this server."""
        session = requests.Session()
        session.mount("https://www.youtube.com", _RewriteAdapter(self.base_url))
        return session

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        recorded = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: bytes, content_type: str, declared: int | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(declared if declared is not None else len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                recorded.requests.append(f"GET {url.path}")
                if url.path == "/watch":
                    vid = query.get("v", [""])[0]
                    self._send(200, WATCH_HTML.format(vid=vid).encode(), "text/html; charset=utf-8")
                elif url.path == "/api/timedtext":
                    vid, lang = query.get("v", [""])[0], query.get("lang", [""])[0]
                    suffix = ".asr" if query.get("kind", [""])[0] == "asr" else ""
                    path = recorded.data_dir / "timedtext" / f"{vid}.{lang}{suffix}.xml"
                    if path.exists():
                        self._send(200, path.read_bytes(), "text/xml; charset=UTF-8")
                    else:
                        self._send(404, b"", "text/html")
                elif url.path.startswith("/videoplayback/"):
                    name = url.path.rsplit("/", 1)[1]
                    body = recorded.media.get(name)
                    if body is None:
                        self._send(404, b"not found", "text/plain")
                    elif name in recorded.truncate:
                        self._send(200, body[: len(body) // 2], "audio/mp4", declared=len(body))
                        self.close_connection = True
                    else:
                        self._send(200, body, "audio/mp4")
                else:
                    self._send(404, b"", "text/plain")

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                recorded.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length", "0"))
                payload = json.loads(self.rfile.read(length) or b"{}")
                if url.path == "/youtubei/v1/player" and "key" in parse_qs(url.query):
                    path = recorded.data_dir / "player" / f"{payload.get('videoId')}.json"
                    body = path.read_bytes() if path.exists() else json.dumps(UNAVAILABLE).encode()
                    self._send(200, body, "application/json; charset=UTF-8")
                else:
                    self._send(404, b"", "text/plain")

        return Handler


class _RewriteAdapter(HTTPAdapter):
    """Transport seam: the request keeps its path and query, only scheme and host change."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base = urlsplit(base_url)

    def send(self, request, **kwargs):  # type: ignore[override]
        parts = urlsplit(request.url)
        request.url = urlunsplit((self.base.scheme, self.base.netloc, parts.path, parts.query, parts.fragment))
        return super().send(request, **kwargs)


def recorded_info_dir(data_dir: Path, target: Path, base_url: str) -> Path:
    """Copy the recorded yt-dlp info JSON, pointing googlevideo media URLs at the local server."""
    target.mkdir(parents=True, exist_ok=True)
    for path in (data_dir / "info").glob("*.json"):
        text = path.read_text(encoding="utf-8").replace("https://rr3---sn-test.googlevideo.com", base_url)
        (target / path.name).write_text(text, encoding="utf-8")
    return target
