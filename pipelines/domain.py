"""The words every part of course-ta speaks: segments, videos, citations and answers.

These are plain dataclasses so that readers, pipelines, bots and voice can share them without
importing each other. Times are seconds as floats; ``None`` means the source had no timing.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Word:
    """One spoken word with its own timing (Whisper word timestamps, or interpolated)."""

    text: str
    start: float | None
    end: float | None


@dataclass(frozen=True)
class Segment:
    """A timed piece of transcript as the source gave it (an SRT cue, a Whisper segment, a line)."""

    text: str
    start: float | None = None
    end: float | None = None
    words: tuple[Word, ...] | None = None


@dataclass(frozen=True)
class Sentence:
    """A sentence (or pseudo-sentence for unpunctuated speech) with where it begins and ends."""

    text: str
    start: float | None
    end: float | None


@dataclass
class Video:
    """What we know about one lecture video, from the manifest, the source or the file name."""

    video_id: str
    title: str
    url: str
    source: str = ""
    duration_s: float | None = None

    def link_at(self, seconds: float | None) -> str:
        """A deep link that jumps to ``seconds`` (DESIGN.md: YouTube ``&t=Ns``, local ``#t=N``)."""
        return deep_link(self.url, seconds)


def deep_link(url: str, seconds: float | None) -> str:
    """Append the time fragment the player understands; unknown times link to the start."""
    if seconds is None:
        return url
    whole = max(0, int(seconds))
    if "youtube.com/watch" in url or "youtu.be/" in url:
        separator = "&" if "?" in url else "?"
        return f"{url}{separator}t={whole}s"
    return f"{url.split('#', 1)[0]}#t={whole}"


def youtube_url(video_id: str) -> str:
    """The watch page of a YouTube video, in the form ``deep_link`` knows how to seek."""
    return f"https://www.youtube.com/watch?v={video_id}"


def local_url(path: Path) -> str:
    """A ``file://`` URL for a local video, so local and online sources cite the same way."""
    return path.resolve().as_uri()


@dataclass
class Citation:
    """One place in one video that supports an answer: the moment a student should jump to."""

    video_id: str
    title: str
    url: str
    start_s: float | None
    end_s: float | None
    score: float
    quote: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields, as front doors and logs serialise a citation."""
        return asdict(self)


@dataclass
class Answer:
    """What the AnswerService returns to every front door (Slack, Discord, CLI)."""

    question: str
    text: str
    grounded: bool
    citations: list[Citation] = field(default_factory=list)
    store: str = ""
    answerer: str = ""
    # The question's vector as the query pipeline embedded it, and the vector space it lives in: the
    # answer log keeps it so the console can group questions without embedding them again. Not part
    # of the ``ask --json`` contract, equality or repr.
    query_embedding: list[float] | None = field(default=None, compare=False, repr=False)
    embedding_model: str = field(default="", compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The ``course-ta ask --json`` contract of DESIGN.md, key for key."""
        return {
            "question": self.question,
            "answer": self.text,
            "grounded": self.grounded,
            "citations": [c.to_dict() for c in self.citations],
            "backend": {"store": self.store, "answerer": self.answerer},
        }


@dataclass(frozen=True)
class Turn:
    """One earlier question/answer pair of a thread, passed along for follow-ups."""

    question: str
    answer: str


def format_timestamp(seconds: float | None) -> str:
    """``83.4`` → ``1:23``; ``3723`` → ``1:02:03``; unknown → ``start``."""
    if seconds is None:
        return "start"
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
