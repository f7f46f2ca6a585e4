"""The Tortoise worker's HTTP contract, with the model replaced at its one seam (``loader``).

Tortoise synthesis itself needs a CUDA GPU and the weights; everything around it (voices on disk,
latents computed once and cached, sentence chunks, WAV responses, errors) is the real worker code,
driven over HTTP by the real client backend.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest

from voice.audio import Audio
from voice.backends.tortoise import TortoiseBackend
from voice.cloning import clone_voice
from voice.render import VoiceRenderer, build_backends
from voice.tortoise_worker.engine import TortoiseEngine, split_for_tortoise
from voice.tortoise_worker.model import ModelOptions, ModelUnavailable, load_tortoise
from voice.tortoise_worker.server import create_app


class ToneModel:
    """Stands in for TextToSpeech at the seam: 24 kHz, 50 ms of tone per character of text."""

    sample_rate = 24_000
    device = "cuda"

    def __init__(self):
        self.latent_computations = 0
        self.generated: list[tuple[str, str]] = []

    def compute_latents(self, clip_paths: list[Path]) -> np.ndarray:
        self.latent_computations += 1
        return np.array([sum(p.stat().st_size for p in clip_paths)], dtype=np.float64)

    def save_latents(self, latents, path: Path) -> None:
        np.save(path.open("wb"), latents)

    def load_latents(self, path: Path):
        return np.load(path.open("rb"))

    def generate(self, text: str, latents, preset: str) -> np.ndarray:
        assert latents.shape == (1,)
        self.generated.append((text, preset))
        n = int(0.05 * self.sample_rate * len(text))
        return (0.3 * np.sin(np.arange(n) * 2 * np.pi * 220 / self.sample_rate)).astype(np.float32)


@pytest.fixture
def model() -> ToneModel:
    return ToneModel()


@pytest.fixture
def engine(tmp_path, model) -> TortoiseEngine:
    engine = TortoiseEngine(tmp_path / "worker-voices", ModelOptions(), loader=lambda options: model)
    engine.load()
    return engine


def test_http_contract(engine, model, speech_clip, serve_app):
    with serve_app(create_app(engine)) as url:
        health = httpx.get(f"{url}/health").json()
        assert health["ready"] and health["voices"] == [] and health["default_preset"] == "ultra_fast"
        wav = speech_clip.read_bytes()
        put = httpx.put(f"{url}/voices/instructor", files=[("clips", ("a.wav", wav, "audio/wav")), ("clips", ("b.wav", wav, "audio/wav"))])
        assert put.status_code == 200 and put.json() == {"voice": "instructor", "clips": 2, "latents": "computed"}
        assert httpx.get(f"{url}/health").json()["voices"] == ["instructor"]

        text = "First sentence here. " + "A much longer second sentence that keeps going, " * 6 + "and ends."
        response = httpx.post(f"{url}/synthesize", json={"text": text, "voice": "instructor", "preset": "fast"})
        assert response.status_code == 200 and response.headers["content-type"] == "audio/wav"
        audio = Audio.from_wav(response.content)
        chunks = split_for_tortoise(text)
        assert int(response.headers["X-Chunks"]) == len(chunks) > 1
        assert all(len(c) <= 200 for c in chunks) and " ".join(chunks).split() == text.split()
        assert audio.sample_rate == 24_000
        expected = sum(0.05 * len(c) for c in chunks) + 0.2 * (len(chunks) - 1)
        assert abs(audio.duration_s - expected) < 0.01
        assert {preset for _, preset in model.generated} == {"fast"}

        httpx.post(f"{url}/synthesize", json={"text": "Again.", "voice": "instructor"})
        assert model.latent_computations == 1  # latents once per voice, not per request
        assert model.generated[-1] == ("Again.", "ultra_fast")

        errors = {
            "empty": httpx.post(f"{url}/synthesize", json={"text": "  ", "voice": "instructor"}),
            "preset": httpx.post(f"{url}/synthesize", json={"text": "Hi.", "voice": "instructor", "preset": "turbo"}),
            "voice": httpx.post(f"{url}/synthesize", json={"text": "Hi.", "voice": "nobody"}),
            "json": httpx.post(f"{url}/synthesize", content=b"not json"),
            "long": httpx.post(f"{url}/synthesize", json={"text": "word " * 1000, "voice": "instructor"}),
            "clip": httpx.put(f"{url}/voices/bad", files=[("clips", ("x.wav", b"not a wav", "audio/wav"))]),
        }
        assert {k: r.status_code for k, r in errors.items()} == {
            "empty": 400,
            "preset": 400,
            "voice": 404,
            "json": 400,
            "long": 400,
            "clip": 400,
        }
        assert "unknown preset" in errors["preset"].json()["error"]


def test_latents_survive_a_restart(tmp_path, speech_clip):
    first = ToneModel()
    engine = TortoiseEngine(tmp_path / "v", loader=lambda options: first)
    engine.load()
    engine.register_voice("instructor", [("a.wav", speech_clip.read_bytes())])
    second = ToneModel()
    restarted = TortoiseEngine(tmp_path / "v", loader=lambda options: second)
    restarted.load()
    restarted.synthesize("Hello there.", "instructor")
    assert (first.latent_computations, second.latent_computations) == (1, 0)


def test_real_loader_here_reports_why_not(tmp_path, make_settings, serve_app):
    """The real seam on this machine (no tortoise, no GPU): the worker serves, and says why it cannot speak."""
    with pytest.raises(ModelUnavailable):
        load_tortoise(ModelOptions())
    engine = TortoiseEngine(tmp_path / "v")
    engine.load()
    with serve_app(create_app(engine)) as url:
        assert httpx.post(f"{url}/synthesize", json={"text": "Hi.", "voice": "x"}).status_code == 503
        availability = TortoiseBackend(make_settings(tortoise_url=url)).available("instructor")
    assert not availability and availability.reason.startswith("worker not ready: ")
    assert "tortoise-tts is not installed" in availability.reason or "no CUDA GPU" in availability.reason


def test_clone_and_speak_through_the_app(engine, model, speech_clip, make_settings, serve_app):
    with serve_app(create_app(engine)) as url:
        settings = make_settings(tortoise_url=url, voice_backends="tortoise,piper", tortoise_preset="standard")
        report = clone_voice("instructor", [speech_clip], settings)
        assert report.backends["tortoise"] == "registered 1 clips, latents computed"
        assert "no API key" in report.failed["elevenlabs"]
        renderer = VoiceRenderer(settings, build_backends(settings))
        clip = renderer.render("Tortoise speaks this **cloned** answer [2].")
        assert clip.ok and clip.backend == "tortoise" and clip.voice == "instructor"
        assert model.generated[-1] == ("Tortoise speaks this cloned answer.", "standard")
        assert renderer.render("Tortoise speaks this **cloned** answer [2].").cached
