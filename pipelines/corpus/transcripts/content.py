"""Refuse text that decoded fine but is not a transcript: web pages, wrong-format files, runaway lines.

A transcript saved from a browser or a download tool is sometimes the server's error page (HTTP 429,
a login wall) under the transcript's name. Read as plain text it would be indexed and quoted back to
students, and as the richest file of its video it would replace a good caption file. So markup is
refused, a file whose extension promises timing (``.json``, ``.srt``, ``.vtt``) must have it, and no
line may be longer than a whole lecture.
"""

from __future__ import annotations

import re

from pipelines.corpus.transcripts.errors import TranscriptError

# A 3-hour lecture pasted as one line is ~200,000 characters; a longer line is a dump, not speech.
MAX_LINE_CHARS = 1_000_000

_MARKUP_START = re.compile(r"^\s*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>]|\?xml\s|tt[\s>]|!--)", re.IGNORECASE)
_MARKUP_INSIDE = re.compile(r"<(?:html|head|body|script|style|meta|title)[\s>/]", re.IGNORECASE)
_TITLE = re.compile(r"<title[^>]*>(?P<title>[^<]{1,120})</title>", re.IGNORECASE)
_EXPECTED = {".json": "JSON", ".srt": "SubRip cue timings", ".vtt": "WebVTT cues"}


def check_transcript_text(text: str, kind: str, suffix: str = "") -> None:
    """Raise TranscriptError when ``text`` (sniffed as ``kind``) is markup, the wrong format for ``suffix``, or has a runaway line."""
    head = text[:8192]
    if _MARKUP_START.match(head) or len(_MARKUP_INSIDE.findall(head)) >= 2:
        title = _TITLE.search(head)
        named = f" ({' '.join(title['title'].split())!r})" if title else ""
        raise TranscriptError(f"file is an HTML/XML page{named}, not a transcript (an error or login page saved in its place?)")
    expected = _EXPECTED.get(suffix.lower())
    if expected and kind == "text":
        first = next((line.strip() for line in head.split("\n") if line.strip()), "")
        raise TranscriptError(f"file is named {suffix.lower()} but holds no {expected} (starts with {first[:60]!r})")
    if kind != "json":  # minified JSON is legitimately one long line
        longest = max((len(line) for line in text.split("\n")), default=0)
        if longest > MAX_LINE_CHARS:
            raise TranscriptError(f"a line is {longest:,} characters long (limit {MAX_LINE_CHARS:,}); not a transcript")
