"""The model seam: everything that touches torch or tortoise-tts is behind :func:`load_tortoise`.

The worker's HTTP contract, voice storage, latent caching and sentence splitting are ordinary code
that runs anywhere; only this loader needs the weights and a GPU. Tests pass a different loader
with the same :class:`VoiceModel` shape to exercise the worker without either.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

TORTOISE_OUTPUT_RATE = 24_000  # tortoise's vocoder output rate
TORTOISE_INPUT_RATE = 22_050  # what get_conditioning_latents expects of reference clips
PRESETS = ("ultra_fast", "fast", "standard", "high_quality")


class ModelUnavailable(RuntimeError):
    """The model cannot run here (not installed, no GPU, weights missing); the message says which."""


@dataclass(frozen=True)
class ModelOptions:
    models_dir: str | None = None  # None → tortoise's default (TORTOISE_MODELS_DIR or ~/.cache)
    kv_cache: bool = True
    half: bool = True
    use_deepspeed: bool = False
    autoregressive_batch_size: int | None = None
    allow_cpu: bool = False  # tortoise on CPU takes minutes per sentence; off unless asked for


class VoiceModel(Protocol):
    sample_rate: int
    device: str

    def compute_latents(self, clip_paths: list[Path]) -> Any: ...

    def save_latents(self, latents: Any, path: Path) -> None: ...

    def load_latents(self, path: Path) -> Any: ...

    def generate(self, text: str, latents: Any, preset: str) -> np.ndarray: ...


class TortoiseModel:
    """tortoise-tts' ``TextToSpeech`` with conditioning latents supplied by the worker's cache."""

    sample_rate = TORTOISE_OUTPUT_RATE

    def __init__(self, tts: Any, load_audio: Any, torch: Any, device: str):
        self._tts, self._load_audio, self._torch, self.device = tts, load_audio, torch, device

    def compute_latents(self, clip_paths: list[Path]) -> Any:
        samples = [self._load_audio(str(path), TORTOISE_INPUT_RATE) for path in clip_paths]
        with self._torch.inference_mode():
            return self._tts.get_conditioning_latents(samples)

    def save_latents(self, latents: Any, path: Path) -> None:
        self._torch.save(tuple(t.cpu() for t in latents), str(path))

    def load_latents(self, path: Path) -> Any:
        return tuple(self._torch.load(str(path), map_location=self.device))

    def generate(self, text: str, latents: Any, preset: str) -> np.ndarray:
        with self._torch.inference_mode():
            audio = self._tts.tts_with_preset(
                text, preset=preset, voice_samples=None, conditioning_latents=latents, k=1, verbose=False
            )
        return audio.squeeze().float().cpu().numpy()


def load_tortoise(options: ModelOptions) -> VoiceModel:
    """THE seam: import tortoise, check for a GPU and load the weights (minutes on first run)."""
    try:
        import torch
        from tortoise.api import TextToSpeech
        from tortoise.utils.audio import load_audio
    except ImportError as error:
        raise ModelUnavailable(f"tortoise-tts is not installed in this environment ({error}); use infra/tortoise") from None
    cuda = torch.cuda.is_available()
    if not cuda and not options.allow_cpu:
        raise ModelUnavailable("no CUDA GPU visible to the Tortoise worker (start it with --allow-cpu to run, very slowly, on CPU)")
    kwargs: dict[str, Any] = {
        "kv_cache": options.kv_cache,
        "half": options.half and cuda,
        "use_deepspeed": options.use_deepspeed and cuda,
        "autoregressive_batch_size": options.autoregressive_batch_size,
    }
    if options.models_dir:
        kwargs["models_dir"] = options.models_dir
    elif os.environ.get("TORTOISE_MODELS_DIR"):
        kwargs["models_dir"] = os.environ["TORTOISE_MODELS_DIR"]
    try:
        tts = TextToSpeech(**kwargs)
    except (OSError, RuntimeError) as error:
        raise ModelUnavailable(f"could not load the Tortoise weights: {error}") from None
    return TortoiseModel(tts, load_audio, torch, "cuda" if cuda else "cpu")
