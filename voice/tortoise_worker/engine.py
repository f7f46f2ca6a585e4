"""What the worker does besides running the model: voices on disk, cached latents, sentence chunks.

Conditioning latents are the expensive per-voice step (seconds on a GPU); they are computed once
per clip set, kept in memory and saved next to the clips, so a restart does not recompute them.
Tortoise refuses inputs over ~400 tokens and its prosody degrades on long inputs, so text is
spoken sentence by sentence (short sentences grouped up to ``MAX_CHUNK_CHARS``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from voice.tortoise_worker.model import PRESETS, ModelOptions, ModelUnavailable, VoiceModel, load_tortoise

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 2_000
MAX_CHUNK_CHARS = 200
SENTENCE_GAP_S = 0.2
VOICE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


class RequestError(ValueError):
    """The request is wrong (empty text, unknown preset...): HTTP 400."""


class UnknownVoice(LookupError):
    """No clips are registered for the voice asked for: HTTP 404."""


class NotReady(RuntimeError):
    """The model is not loaded: HTTP 503 with the reason."""


def split_for_tortoise(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[str]:
    """Sentences, grouped while they fit in ``max_chars``; a longer sentence is cut at commas/words."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text.strip()):
        sentence = sentence.strip()
        while len(sentence) > max_chars:
            cut = max(sentence.rfind(",", 0, max_chars), sentence.rfind(" ", 0, max_chars))
            cut = cut if cut > max_chars // 3 else max_chars
            pieces.append(sentence[: cut + 1].strip())
            sentence = sentence[cut + 1 :].strip()
        if sentence:
            pieces.append(sentence)
    chunks: list[str] = []
    for piece in pieces:
        if chunks and len(chunks[-1]) + 1 + len(piece) <= max_chars:
            chunks[-1] = f"{chunks[-1]} {piece}"
        else:
            chunks.append(piece)
    return chunks


class TortoiseEngine:
    """Registered voices, their cached latents and synthesis on one model, one request at a time on the GPU."""

    def __init__(
        self,
        voices_dir: Path,
        options: ModelOptions = ModelOptions(),
        default_preset: str = "ultra_fast",
        loader: Callable[[ModelOptions], VoiceModel] = load_tortoise,
    ):
        if default_preset not in PRESETS:
            raise ValueError(f"unknown preset {default_preset!r}; expected one of {', '.join(PRESETS)}")
        self.voices_dir = Path(voices_dir)
        self.voices_dir.mkdir(parents=True, exist_ok=True)
        self.options = options
        self.default_preset = default_preset
        self._loader = loader
        self.model: VoiceModel | None = None
        self.reason = "model not loaded yet"
        self._latents: dict[str, tuple[str, Any]] = {}
        self._lock = threading.Lock()  # one GPU: one synthesis or latent computation at a time

    def load(self) -> None:
        """Load the model; when it cannot be (no GPU, no weights), keep serving and report why in ``health``."""
        try:
            self.model = self._loader(self.options)
            self.reason = ""
        except ModelUnavailable as error:
            self.model, self.reason = None, str(error)
            logger.warning("Tortoise model unavailable: %s", error)

    @property
    def ready(self) -> bool:
        """The model is loaded and can speak."""
        return self.model is not None

    def health(self) -> dict[str, Any]:
        """The ``GET /health`` document."""
        return {
            "ready": self.ready,
            "reason": self.reason,
            "device": self.model.device if self.model else None,
            "sample_rate": self.model.sample_rate if self.model else None,
            "voices": self.voices(),
            "presets": list(PRESETS),
            "default_preset": self.default_preset,
        }

    def voices(self) -> list[str]:
        """Names of the voices with at least one clip on disk."""
        return sorted(p.name for p in self.voices_dir.iterdir() if p.is_dir() and any(p.glob("*.wav")))

    def _clip_paths(self, voice: str) -> list[Path]:
        if not VOICE_NAME.match(voice):
            raise RequestError(f"invalid voice name {voice!r}")
        paths = sorted((self.voices_dir / voice).glob("*.wav"))
        if not paths:
            raise UnknownVoice(f"voice {voice!r} is not registered with this worker")
        return paths

    def register_voice(self, voice: str, clips: list[tuple[str, bytes]]) -> dict[str, Any]:
        """Replace ``voice``'s clips; latents are computed now when the model is loaded."""
        if not VOICE_NAME.match(voice):
            raise RequestError(f"invalid voice name {voice!r}")
        if not clips:
            raise RequestError("no clips uploaded")
        for filename, data in clips:
            if not data.startswith(b"RIFF") or data[8:12] != b"WAVE":
                raise RequestError(f"{filename}: clips must be WAV (the app uploads normalized 22.05 kHz mono WAV)")
        folder = self.voices_dir / voice
        staging = self.voices_dir / f".{voice}.incoming"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        for index, (_, data) in enumerate(clips):
            (staging / f"clip{index:02d}.wav").write_bytes(data)
        with self._lock:
            shutil.rmtree(folder, ignore_errors=True)
            staging.rename(folder)
            self._latents.pop(voice, None)
        latents = "deferred"
        if self.ready:
            self.latents(voice)
            latents = "computed"
        return {"voice": voice, "clips": len(clips), "latents": latents}

    def _digest(self, paths: list[Path]) -> str:
        digest = hashlib.sha256()
        for path in paths:
            digest.update(path.read_bytes())
        return digest.hexdigest()[:16]

    def latents(self, voice: str) -> Any:
        """Memory, then disk, then compute (and save): once per voice and clip set."""
        model = self._require_model()
        paths = self._clip_paths(voice)
        digest = self._digest(paths)
        cached = self._latents.get(voice)
        if cached and cached[0] == digest:
            return cached[1]
        cache_file = self.voices_dir / voice / f"latents-{digest}.pth"
        with self._lock:
            if cache_file.exists():
                latents = model.load_latents(cache_file)
            else:
                latents = model.compute_latents(paths)
                model.save_latents(latents, cache_file)
            self._latents[voice] = (digest, latents)
        return latents

    def _require_model(self) -> VoiceModel:
        if self.model is None:
            raise NotReady(self.reason)
        return self.model

    def synthesize(self, text: str, voice: str, preset: str | None = None) -> tuple[np.ndarray, int, int]:
        """Audio for ``text``; returns (samples, sample rate, number of chunks spoken)."""
        if not isinstance(text, str) or not text.strip():
            raise RequestError("text is empty")
        if len(text) > MAX_TEXT_CHARS:
            raise RequestError(f"text is {len(text)} characters; the worker speaks at most {MAX_TEXT_CHARS}")
        preset = preset or self.default_preset
        if preset not in PRESETS:
            raise RequestError(f"unknown preset {preset!r}; expected one of {', '.join(PRESETS)}")
        model = self._require_model()
        latents = self.latents(voice)
        chunks = split_for_tortoise(text)
        gap = np.zeros(int(SENTENCE_GAP_S * model.sample_rate), dtype=np.float32)
        parts: list[np.ndarray] = []
        with self._lock:
            for index, chunk in enumerate(chunks):
                if index:
                    parts.append(gap)
                parts.append(np.asarray(model.generate(chunk, latents, preset), dtype=np.float32).reshape(-1))
        return np.concatenate(parts), model.sample_rate, len(chunks)
