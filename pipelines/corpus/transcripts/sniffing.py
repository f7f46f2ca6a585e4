"""Decide a transcript's format from its content; the extension is only a tie-breaker.

Users rename files, YouTube tools save JSON as .txt and SRT as .vtt, so we look at the text.
"""

from __future__ import annotations

import re

from pipelines.corpus.transcripts.timecodes import CUE_TIMING

_SRT_TIMING = re.compile(r"\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->")


def sniff_format(text: str, suffix: str = "") -> str:
    """One of ``json``, ``webvtt``, ``srt``, ``text``."""
    head = text.lstrip()[:4096]
    if head.startswith("WEBVTT"):
        return "webvtt"
    if head[:1] in "[{":
        return "json"
    timing_lines = sum(1 for line in head.split("\n") if CUE_TIMING.match(line))
    if timing_lines:
        if suffix.lower() == ".vtt" and not _SRT_TIMING.search(head):
            return "webvtt"
        return "srt"
    return "text"
