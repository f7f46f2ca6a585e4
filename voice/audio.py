"""The one in-memory audio type every backend returns: mono float32 samples plus their rate.

Backends differ (Piper float chunks, ElevenLabs MP3/PCM bytes, Tortoise WAV over HTTP); turning all
of them into this shape at the edge keeps the chain, the cache and the encoders backend-agnostic.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Audio:
    """Mono PCM in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray
    sample_rate: int

    def __post_init__(self) -> None:
        if self.sample_rate <= 0:
            raise ValueError(f"sample rate must be positive, got {self.sample_rate}")
        if self.samples.ndim != 1:
            raise ValueError(f"audio must be mono (1-D samples), got shape {self.samples.shape}")

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return len(self.samples) / self.sample_rate

    def to_int16(self) -> np.ndarray:
        """Signed 16-bit PCM, clipped to full scale rather than wrapped around."""
        return (np.clip(self.samples, -1.0, 1.0) * 32767.0).astype(np.int16)

    def to_wav(self) -> bytes:
        """16-bit mono WAV: the Tortoise worker's wire format and what ElevenLabs cloning accepts."""
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self.to_int16().tobytes())
        return buffer.getvalue()

    @classmethod
    def from_wav(cls, data: bytes) -> Audio:
        """Read a 16-bit PCM WAV (mono or multi-channel, downmixed)."""
        try:
            with wave.open(io.BytesIO(data), "rb") as wav:
                channels, width, rate = wav.getnchannels(), wav.getsampwidth(), wav.getframerate()
                frames = wav.readframes(wav.getnframes())
        except (wave.Error, EOFError) as error:
            raise ValueError(f"not a PCM WAV: {error}") from None
        if width != 2:
            raise ValueError(f"expected 16-bit WAV, got {8 * width}-bit")
        samples = np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0
        if channels > 1:
            samples = samples.reshape(-1, channels).mean(axis=1)
        return cls(samples, rate)
