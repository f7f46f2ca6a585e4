"""Decode any container (mp4, mkv, webm, mp3, m4a, wav, ogg) to 16 kHz mono, one window at a time.

faster-whisper's own ``decode_audio`` keeps the whole lecture in memory (a 3-hour lecture is ~700 MB
of float32). We decode with PyAV (FFmpeg's libraries) into windows of ``window_s`` seconds and cut
each window at the quietest 100 ms of its last few seconds, so a window boundary almost never
splits a word; the remainder is carried over into the next window.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from pipelines.freshness.faults import VideoFailure

SAMPLE_RATE = 16_000
_CUT_SEARCH_S = 8.0
_FRAME_S = 0.1


@dataclass
class AudioWindow:
    """A piece of the recording and where it begins in the whole file (seconds)."""

    samples: np.ndarray
    offset_s: float

    @property
    def duration_s(self) -> float:
        """Length of this window in seconds."""
        return len(self.samples) / SAMPLE_RATE


def stream_audio(path: Path, window_s: float) -> Iterator[AudioWindow]:
    """Yield consecutive windows covering the whole audio track; errors become VideoFailure."""
    if not path.exists():
        raise VideoFailure(f"media file not found: {path}", retryable=False)
    if path.stat().st_size == 0:
        raise VideoFailure(f"media file is empty (0 bytes): {path.name}", retryable=False)
    window = int(window_s * SAMPLE_RATE)
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.error.FFmpegError as error:
        raise VideoFailure(f"cannot open media {path.name}: {error}", retryable=False) from None
    with container:
        if not container.streams.audio:
            raise VideoFailure(f"media {path.name} has no audio track", retryable=False)
        resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
        pending: list[np.ndarray] = []
        pending_samples = 0
        offset = 0
        decoded_any = False
        try:
            for frame in _frames(container):
                for resampled in resampler.resample(frame):
                    array = resampled.to_ndarray().reshape(-1).astype(np.float32) / 32768.0
                    decoded_any = True
                    pending.append(array)
                    pending_samples += len(array)
                    if pending_samples >= window + int(_CUT_SEARCH_S * SAMPLE_RATE):
                        buffer = np.concatenate(pending)
                        cut = _quiet_cut(buffer, window)
                        yield AudioWindow(buffer[:cut], offset / SAMPLE_RATE)
                        offset += cut
                        pending, pending_samples = [buffer[cut:]], len(buffer) - cut
        except av.error.FFmpegError as error:
            raise VideoFailure(f"corrupt media {path.name}: {error}", retryable=False) from None
        if not decoded_any:
            raise VideoFailure(f"media {path.name} has no decodable audio (corrupt or empty)", retryable=False)
        if pending_samples:
            yield AudioWindow(np.concatenate(pending), offset / SAMPLE_RATE)


def _frames(container: av.container.InputContainer) -> Iterator[av.AudioFrame | None]:
    """Audio frames with undecodable packets skipped (as faster-whisper does), then a flush."""
    iterator = iter(container.decode(audio=0))
    while True:
        try:
            frame = next(iterator)
        except StopIteration:
            break
        except av.error.InvalidDataError:
            continue
        frame.pts = None
        yield frame
    yield None  # flush the resampler


def _quiet_cut(buffer: np.ndarray, window: int) -> int:
    """Index near ``window`` where the signal is quietest (RMS over 100 ms frames)."""
    frame = int(_FRAME_S * SAMPLE_RATE)
    start = max(0, window - int(_CUT_SEARCH_S * SAMPLE_RATE) // 2)
    stop = min(len(buffer) - frame, window + int(_CUT_SEARCH_S * SAMPLE_RATE) // 2)
    if stop <= start:
        return min(window, len(buffer))
    count = (stop - start) // frame
    frames = buffer[start : start + count * frame].reshape(count, frame)
    energy = np.sqrt(np.mean(frames * frames, axis=1))
    return start + int(np.argmin(energy)) * frame + frame // 2
