"""Is this media file worth loading Whisper for? A signature check at listing, a decode probe before transcribing.

A download that failed leaves an HTML page, an empty file or random bytes under a media name. Loading
the speech model (seconds, hundreds of MB) to learn that is waste, and FFmpeg happily "detects" random
bytes as MP3. So listing reads the first bytes and refuses anything that starts like no container we
transcribe (one small read per media file, no decoding), and ``probe_media`` opens the file with PyAV
and decodes its first audio packets before any model is loaded.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pipelines.freshness.faults import VideoFailure

_HEAD_BYTES = 64
_PROBE_PACKETS = 64
# ISO base media (mp4, m4a, mov) boxes that may come first; ftyp is usual, old QuickTime starts elsewhere.
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")


def media_signature_problem(path: Path) -> str | None:
    """Why ``path`` cannot be media we transcribe, from its first bytes; None when it starts like a known container."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file (a folder, device or pipe named like media)"
        if info.st_size == 0:
            return "media file is empty (0 bytes)"
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        try:
            head = os.read(fd, _HEAD_BYTES)
        finally:
            os.close(fd)
    except OSError as error:
        return f"cannot read media file: {error.strerror or error}"
    if _known_container(head):
        return None
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype", b"<html", b"<?xml", b"<head", b"<body")):
        return "not media: the file is an HTML/XML page (an error page saved in place of the download?)"
    if not head.strip(b"\x00"):
        return "not media: the file starts with nothing but zero bytes"
    if all(32 <= byte < 127 or byte in (9, 10, 13) for byte in head):
        return f"not media: the file is text (starts with {head[:24].decode('ascii', 'replace')!r})"
    return f"not media: no audio/video container signature (starts with {head[:8].hex(' ')})"


def _known_container(head: bytes) -> bool:
    if len(head) >= 12 and head[4:8] in _ISO_BOXES:
        return True
    if head.startswith((b"\x1a\x45\xdf\xa3", b"OggS", b"fLaC", b"ID3", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")):
        return True
    if head[:4] in (b"RIFF", b"RF64", b"BW64") and head[8:12] == b"WAVE":
        return True
    # MPEG audio / ADTS AAC frame sync: eleven set bits.
    return len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0


def probe_media(path: Path) -> None:
    """Raise VideoFailure (not retryable) unless ``path`` opens and its first audio packets decode; loads no model."""
    problem = media_signature_problem(path)
    if problem is not None:
        raise VideoFailure(f"{path.name}: {problem}", retryable=False)
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise VideoFailure(f"media {path.name} has no audio track", retryable=False)
            for number, packet in enumerate(container.demux(audio=0)):
                if number >= _PROBE_PACKETS:
                    break
                try:
                    if packet.decode():
                        return
                except av.error.InvalidDataError:
                    continue
    except av.error.FFmpegError as error:
        raise VideoFailure(f"cannot open media {path.name}: {error}", retryable=False) from None
    raise VideoFailure(f"media {path.name} has no decodable audio in its first {_PROBE_PACKETS} packets (corrupt?)", retryable=False)
