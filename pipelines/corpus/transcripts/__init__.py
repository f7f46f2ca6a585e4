"""Transcript readers: any file a user has becomes a list of timed :class:`Segment`.

``read_transcript(path)`` sniffs the format, parses it, and removes repeated cues, so every later
stage (chunking, summaries, citations) sees one clean shape regardless of where the text came from.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.corpus.transcripts.annotations import strip_annotations
from pipelines.corpus.transcripts.content import check_transcript_text
from pipelines.corpus.transcripts.decoding import MAX_TRANSCRIPT_BYTES, decode_transcript_bytes, too_large
from pipelines.corpus.transcripts.errors import TranscriptError
from pipelines.corpus.transcripts.json_segments import read_json_segments
from pipelines.corpus.transcripts.plain_text import read_plain_text
from pipelines.corpus.transcripts.repeats import collapse_repeats
from pipelines.corpus.transcripts.sniffing import sniff_format
from pipelines.corpus.transcripts.srt import read_srt
from pipelines.corpus.transcripts.webvtt import read_webvtt
from pipelines.domain import Segment

TRANSCRIPT_SUFFIXES = (".srt", ".vtt", ".json", ".txt")

_READERS = {"srt": read_srt, "webvtt": read_webvtt, "json": read_json_segments, "text": read_plain_text}


@dataclass
class Transcript:
    """Clean segments of one transcript, the format it was read as, and what a user should know about it."""

    segments: list[Segment]
    format: str
    warnings: list[str] = field(default_factory=list)

    @property
    def timed(self) -> bool:
        """Whether any segment has a start time (plain text has none, so citations cannot jump)."""
        return any(s.start is not None for s in self.segments)


def parse_transcript(text: str, suffix: str = "") -> Transcript:
    """Parse already-decoded text; used for files and for captions fetched from the network."""
    warnings: list[str] = []
    kind = sniff_format(text, suffix)
    check_transcript_text(text, kind, suffix)
    segments = _READERS[kind](text, warnings)
    segments, collapsed = collapse_repeats(strip_annotations(segments))
    if collapsed:
        warnings.append(f"collapsed {collapsed} repeated cue(s) or phrase loop(s)")
    if not segments:
        raise TranscriptError("transcript has no text after removing repeats")
    return Transcript(segments=segments, format=kind, warnings=warnings)


def read_transcript(path: Path) -> Transcript:
    """Decode and parse a transcript file; TranscriptError says why it cannot be read.

    Only regular files are opened (a FIFO or device named ``.srt`` would block or never end), and
    the size limit is checked before a byte is read.
    """
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise TranscriptError("not a regular file (a folder, device or pipe named like a transcript)")
        if info.st_size > MAX_TRANSCRIPT_BYTES:
            raise TranscriptError(too_large(info.st_size))
        with path.open("rb") as handle:
            data = handle.read(MAX_TRANSCRIPT_BYTES + 1)
    except OSError as error:
        raise TranscriptError(f"cannot read file: {error.strerror or error}") from None
    decoded = decode_transcript_bytes(data)
    transcript = parse_transcript(decoded.text, path.suffix)
    if decoded.warning:
        transcript.warnings.insert(0, decoded.warning)
    return transcript


__all__ = ["TRANSCRIPT_SUFFIXES", "Transcript", "TranscriptError", "parse_transcript", "read_transcript"]
