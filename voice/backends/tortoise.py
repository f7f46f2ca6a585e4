"""Tortoise, reached over HTTP: the worker runs in its own CUDA environment (infra/tortoise).

This side only speaks the worker's small API (voice/tortoise_worker/server.py). ``available()`` asks
the worker's ``/health``, so "no GPU", "weights missing" or "voice not registered" come back as the
reason the chain prints, and an unreachable worker costs a short connect timeout, not a long wait.
"""

from __future__ import annotations

from typing import Any

import httpx

from pipelines.settings import Settings
from voice.audio import Audio
from voice.backends.base import Availability, BackendError, ReferenceClipFile
from voice.registry import VoiceRegistry

HEALTH_TIMEOUT_S = 3.0


def _error_message(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error") or response.text[:200])
    except ValueError:
        return response.text[:200] or response.reason_phrase


class TortoiseBackend:
    """Speaks in the cloned voice through a Tortoise worker at ``COURSE_TA_TORTOISE_URL``."""

    name = "tortoise"

    def __init__(self, settings: Settings, transport: httpx.BaseTransport | None = None):
        self.settings = settings
        self.url = settings.tortoise_url
        self.preset = settings.tortoise_preset
        self.timeout_s = settings.tortoise_timeout_s
        self.registry = VoiceRegistry(settings.voice_dir)
        self._transport = transport

    def _client(self, timeout: float) -> httpx.Client:
        return httpx.Client(base_url=self.url or "", timeout=timeout, transport=self._transport)

    def health(self) -> dict[str, Any]:
        """The worker's ``/health`` document; raises ``httpx.HTTPError`` or ``ValueError`` when it cannot be had."""
        with self._client(HEALTH_TIMEOUT_S) as client:
            response = client.get("/health")
        response.raise_for_status()
        return response.json()

    def available(self, voice: str) -> Availability:
        """Asks the worker (short timeout) whether its model is loaded and ``voice`` is registered there."""
        if not self.url:
            return Availability.no("COURSE_TA_TORTOISE_URL is not set (the Tortoise worker runs on a GPU host; see infra/tortoise)")
        try:
            health = self.health()
        except (httpx.HTTPError, ValueError) as error:
            return Availability.no(f"worker unreachable at {self.url}: {type(error).__name__}: {error}")
        if not health.get("ready"):
            return Availability.no(f"worker not ready: {health.get('reason') or 'model not loaded'}")
        if voice not in health.get("voices", []):
            return Availability.no(
                f"voice {voice!r} is not registered with the worker (run: course-ta voice clone --name {voice} CLIPS...)"
            )
        return Availability.yes()

    def synthesize(self, text: str, voice: str) -> Audio:
        """One request for the whole text (the worker splits it into sentences); failures are :class:`BackendError`."""
        try:
            with self._client(self.timeout_s) as client:
                response = client.post("/synthesize", json={"text": text, "voice": voice, "preset": self.preset})
        except httpx.TimeoutException:
            raise BackendError(f"worker gave no audio within {self.timeout_s:g} s") from None
        except httpx.HTTPError as error:
            raise BackendError(f"worker unreachable: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise BackendError(f"worker error (HTTP {response.status_code}): {_error_message(response)}")
        try:
            return Audio.from_wav(response.content)
        except ValueError as error:
            raise BackendError(f"worker sent unreadable audio: {error}") from None

    def clone(self, voice: str, clips: list[ReferenceClipFile]) -> str:
        """Upload the normalized clips; the worker computes and caches the conditioning latents."""
        if not self.url:
            raise BackendError("COURSE_TA_TORTOISE_URL is not set")
        files = [("clips", (clip.path.name, clip.path.read_bytes(), "audio/wav")) for clip in clips]
        try:
            with self._client(max(self.timeout_s, 60.0)) as client:
                response = client.put(f"/voices/{voice}", files=files)
        except httpx.HTTPError as error:
            raise BackendError(f"worker unreachable at {self.url}: {type(error).__name__}: {error}") from None
        if response.status_code != 200:
            raise BackendError(f"worker refused the voice (HTTP {response.status_code}): {_error_message(response)}")
        result = response.json()
        registered = self.registry.get(voice)
        if registered is not None:
            registered.backends[self.name] = {"url": self.url, "clips": registered.clips_digest}
            self.registry.save(registered)
        return f"registered {result.get('clips')} clips, latents {result.get('latents')}"

    def fingerprint(self, voice: str) -> dict[str, Any]:
        """The preset and the clip set the voice was cloned from."""
        registered = self.registry.get(voice)
        return {"preset": self.preset, "clips": registered.clips_digest if registered else None}
