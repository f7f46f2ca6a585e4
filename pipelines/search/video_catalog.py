"""The indexed videos and a summary of each, read from the document store, for any front door.

A video's summary is the one the summarising stage stored (``pipelines/llm/summaries.py``, run by
ingest and sync: a paragraph and salient points, each with the second it comes from). Without one
(summaries turned off, or an index built before them) it is extracted from the indexed chunks: the
opening sentences plus the first sentence of evenly spaced chunks, each with its second, so the
points are still links a student can jump to. The list of videos (ids, titles, links) comes from
the same documents and is cached briefly, because title autocomplete asks for it on every keystroke.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pipelines.domain import deep_link
from pipelines.llm.summaries import load_summary
from pipelines.settings import Settings

CATALOG_TTL_S = 60.0
MAX_POINTS = 6


@dataclass(frozen=True)
class VideoEntry:
    """One indexed video: its id, title and link."""

    video_id: str
    title: str
    url: str


@dataclass
class KeyPoint:
    """A moment worth jumping to: its sentence, the second it starts and the deep link there."""

    text: str
    start_s: float | None
    url: str


@dataclass
class CatalogSummary:
    """What to show for one video: the stored summary when there is one, else one extracted from its chunks."""

    video: VideoEntry
    text: str
    points: list[KeyPoint] = field(default_factory=list)
    generated: bool = False  # True: the stored per-video summary; False: extracted from chunks here
    method: str = ""  # how the stored summary was made ("extractive" or "llm:<model>")
    chunks: int = 0


class UnknownVideo(LookupError):
    """No indexed video matches; the message is for the user."""


class VideoCatalog:
    """Titles and summaries of the indexed videos, from a Haystack document store."""

    def __init__(self, store: Any, ttl_s: float = CATALOG_TTL_S, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings
        self.ttl_s = ttl_s
        self._videos: list[VideoEntry] = []
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()

    def videos(self) -> list[VideoEntry]:
        """Every indexed video, sorted by title; re-read from the store at most once per ``ttl_s``."""
        with self._lock:
            if time.monotonic() - self._loaded_at > self.ttl_s:
                seen: dict[str, VideoEntry] = {}
                for document in self.store.filter_documents():
                    meta = document.meta or {}
                    video_id = meta.get("video_id")
                    if video_id and video_id not in seen:
                        seen[video_id] = VideoEntry(str(video_id), str(meta.get("title") or video_id), str(meta.get("url") or ""))
                self._videos = sorted(seen.values(), key=lambda v: v.title.lower())
                self._loaded_at = time.monotonic()
            return list(self._videos)

    def search(self, typed: str, limit: int = 25) -> list[VideoEntry]:
        """Autocomplete: titles starting with what was typed first, then titles containing it."""
        needle = " ".join(typed.lower().split())
        videos = self.videos()
        if not needle:
            return videos[:limit]
        starts = [v for v in videos if v.title.lower().startswith(needle) or v.video_id.lower() == needle]
        contains = [v for v in videos if v not in starts and (needle in v.title.lower() or needle in v.video_id.lower())]
        return (starts + contains)[:limit]

    def resolve(self, value: str) -> VideoEntry:
        """The video a user picked (autocomplete sends the id) or typed (a title, maybe partial)."""
        value = value.strip()
        videos = self.videos()
        if not videos:
            raise UnknownVideo("Nothing is indexed yet, so there are no videos to summarise.")
        for test in (lambda v: v.video_id == value, lambda v: v.title.lower() == value.lower()):
            found = [v for v in videos if test(v)]
            if found:
                return found[0]
        partial = self.search(value, limit=2)
        if len(partial) == 1:
            return partial[0]
        if partial:
            raise UnknownVideo(f"\u201c{value}\u201d matches several videos; pick one from the list as you type.")
        raise UnknownVideo(f"No indexed video matches \u201c{value}\u201d. Start typing a title and pick it from the list.")

    def summary(self, video: VideoEntry) -> CatalogSummary:
        """The stored summary, else one built from the chunks; :class:`UnknownVideo` when there is no text."""
        documents = self.store.filter_documents(filters={"field": "meta.video_id", "operator": "==", "value": video.video_id})
        stored = [d for d in documents if (d.meta or {}).get("kind") == "summary" and d.content]
        chunks = sorted(
            (d for d in documents if (d.meta or {}).get("kind", "chunk") == "chunk" and d.content),
            key=lambda d: (d.meta.get("start_s") is None, d.meta.get("start_s") or 0.0, d.meta.get("chunk_index") or 0),
        )
        saved = load_summary(self.settings, video.video_id) if self.settings is not None else None
        if saved is not None and (saved.summary or saved.points):
            points = [KeyPoint(p.text, p.start_s, deep_link(video.url, p.start_s)) for p in saved.points]
            return CatalogSummary(video, saved.summary, points, generated=True, method=saved.method, chunks=len(chunks))
        points = key_points(video, chunks)
        if stored:
            return CatalogSummary(video, stored[0].content.strip(), points, generated=True, chunks=len(chunks))
        if not chunks:
            raise UnknownVideo(f"\u201c{video.title}\u201d has no indexed text to summarise.")
        opening = " ".join(first_sentences(chunks[0], 2))
        return CatalogSummary(video, opening, points, generated=False, chunks=len(chunks))


def first_sentences(document: Any, count: int) -> list[str]:
    """The chunk's first ``count`` sentences, using the sentence offsets the indexer stored."""
    return [text for text, _ in timed_sentences(document)[:count]]


def timed_sentences(document: Any) -> list[tuple[str, float | None]]:
    """The chunk's sentences, each with the second it starts (the chunk's start when untimed)."""
    content: str = document.content or ""
    meta = document.meta or {}
    offsets = list(meta.get("sentence_offsets") or [])
    starts = list(meta.get("sentence_starts") or [])
    if not offsets:
        return [(content.strip(), meta.get("start_s"))] if content.strip() else []
    bounds = [*offsets, len(content)]
    sentences = []
    for index in range(len(offsets)):
        text = content[bounds[index] : bounds[index + 1]].strip()
        if text:
            start = starts[index] if index < len(starts) else meta.get("start_s")
            sentences.append((text, start))
    return sentences


def key_points(video: VideoEntry, chunks: list[Any], limit: int = MAX_POINTS) -> list[KeyPoint]:
    """One point per evenly spaced chunk: its first substantial sentence and the second it starts."""
    if not chunks:
        return []
    if len(chunks) <= limit:
        picked = chunks
    else:
        step = len(chunks) / limit
        picked = [chunks[int(i * step)] for i in range(limit)]
    points: list[KeyPoint] = []
    for chunk in picked:
        sentences = timed_sentences(chunk)
        substantial = [s for s in sentences if len(s[0].split()) >= 6] or sentences
        if not substantial:
            continue
        text, start = substantial[0]
        url = str((chunk.meta or {}).get("url") or video.url)
        points.append(KeyPoint(text, start, deep_link(url, start)))
    return points
