"""ElevenLabs (hosted) through the official ``elevenlabs`` SDK: instant voice cloning and TTS.

The clone is created once from the registered reference clips (``voices.ivc.create``) and its voice
id stored in the voice registry; synthesis streams the audio (``text_to_speech.convert`` yields
chunks as they arrive) in the configured model and output format. Quota, key and rate-limit
failures become one clear :class:`BackendError` so the chain falls through to the next backend
immediately (no SDK retries: a 429 retried twice would only delay the fallback).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from pipelines.settings import Settings
from voice.audio import Audio
from voice.backends.base import Availability, BackendError, ReferenceClipFile
from voice.encoding import AudioDecodeError, decode
from voice.registry import VoiceRegistry

NO_RETRY: dict[str, Any] = {"max_retries": 0}


def describe_api_error(error: Exception) -> str:
    """One line from an ElevenLabs error (``{"detail": {"status", "message"}}``), never a header or key."""
    status_code = getattr(error, "status_code", None)
    body = getattr(error, "body", None)
    detail = body.get("detail") if isinstance(body, dict) else None
    status = message = ""
    if isinstance(detail, dict):
        status, message = str(detail.get("status") or detail.get("code") or ""), str(detail.get("message") or "")
    elif isinstance(detail, str):
        message = detail
    elif isinstance(body, str):
        message = body[:200]
    kind = {
        "quota_exceeded": "quota exceeded",
        "invalid_api_key": "API key rejected",
        "too_many_concurrent_requests": "rate limited (too many concurrent requests)",
        "system_busy": "service busy",
        "voice_not_found": "voice not found",
    }.get(status)
    if kind is None:
        kind = {401: "unauthorized", 403: "forbidden", 404: "not found", 422: "request rejected", 429: "rate limited"}.get(
            status_code or 0, "API error"
        )
    text = f"ElevenLabs {kind} (HTTP {status_code})"
    return f"{text}: {message}" if message else text


class ElevenLabsBackend:
    """Speaks in the voice cloned on ElevenLabs from the registered reference clips."""

    name = "elevenlabs"

    def __init__(self, settings: Settings, client: Any | None = None):
        self.settings = settings
        self.timeout_s = settings.elevenlabs_timeout_s
        self.registry = VoiceRegistry(settings.voice_dir)
        self._client = client

    def _api_key(self) -> str | None:
        key = self.settings.elevenlabs_api_key
        value = key.get_secret_value().strip() if key is not None else ""
        return value or None

    @property
    def client(self) -> Any:
        """The SDK client, built on first use so a chain without a key never imports the SDK."""
        if self._client is None:
            from elevenlabs.client import ElevenLabs

            self._client = ElevenLabs(
                api_key=self._api_key(),
                base_url=self.settings.elevenlabs_base_url,  # None → the SDK's production URL
                timeout=self.settings.elevenlabs_timeout_s,
            )
        return self._client

    def voice_id(self, voice: str) -> str | None:
        """ElevenLabs' id for ``voice`` as stored by :meth:`clone`; None when it was never cloned there."""
        registered = self.registry.get(voice)
        if registered is None:
            return None
        return registered.backends.get(self.name, {}).get("voice_id")

    def available(self, voice: str) -> Availability:
        """Needs an API key and a clone of ``voice``; asks nothing of the network."""
        if self._api_key() is None:
            return Availability.no("no API key (set COURSE_TA_ELEVENLABS_API_KEY or ELEVENLABS_API_KEY)")
        if self.voice_id(voice) is None:
            return Availability.no(f"voice {voice!r} is not cloned on ElevenLabs (run: course-ta voice clone --name {voice} CLIPS...)")
        return Availability.yes()

    def clone(self, voice: str, clips: list[ReferenceClipFile]) -> str:
        """Instant voice cloning, once per clip set: the same clips reuse the stored voice id."""
        from elevenlabs.core.api_error import ApiError

        if self._api_key() is None:
            raise BackendError("no API key (set COURSE_TA_ELEVENLABS_API_KEY or ELEVENLABS_API_KEY)")
        registered = self.registry.get(voice)
        if registered is None:
            raise BackendError(f"voice {voice!r} is not registered")
        previous = registered.backends.get(self.name, {})
        if previous.get("voice_id") and previous.get("clips") == registered.clips_digest:
            return f"already cloned as {previous['voice_id']}"
        files = [(clip.path.name, clip.path.read_bytes(), "audio/wav") for clip in clips]
        try:
            response = self.client.voices.ivc.create(
                name=f"course-ta {voice}",
                files=files,
                description="Instructor voice for the course-ta teaching assistant",
                request_options=NO_RETRY,
            )
        except ApiError as error:
            raise BackendError(describe_api_error(error)) from None
        except Exception as error:  # network errors from httpx
            raise BackendError(f"ElevenLabs unreachable: {type(error).__name__}: {error}") from None
        registered.backends[self.name] = {
            "voice_id": response.voice_id,
            "clips": registered.clips_digest,
            "requires_verification": bool(getattr(response, "requires_verification", False)),
        }
        self.registry.save(registered)
        note = " (ElevenLabs asks to verify it before use)" if registered.backends[self.name]["requires_verification"] else ""
        return f"cloned as {response.voice_id}{note}"

    def stream(self, text: str, voice: str) -> Iterator[bytes]:
        """Encoded audio chunks as ElevenLabs sends them (for playback that starts before the end)."""
        from elevenlabs.core.api_error import ApiError

        voice_id = self.voice_id(voice)
        if voice_id is None:
            raise BackendError(f"voice {voice!r} is not cloned on ElevenLabs")
        try:
            yield from self.client.text_to_speech.convert(
                voice_id,
                text=text,
                model_id=self.settings.elevenlabs_model,
                output_format=self.settings.elevenlabs_output_format,
                request_options=NO_RETRY,
            )
        except ApiError as error:
            raise BackendError(describe_api_error(error)) from None
        except BackendError:
            raise
        except Exception as error:
            raise BackendError(f"ElevenLabs unreachable: {type(error).__name__}: {error}") from None

    def synthesize(self, text: str, voice: str) -> Audio:
        """The whole streamed clip, decoded; every failure is a :class:`BackendError`."""
        data = b"".join(self.stream(text, voice))
        return self._to_audio(data)

    def _to_audio(self, data: bytes) -> Audio:
        if not data:
            raise BackendError("ElevenLabs returned no audio")
        pcm = re.fullmatch(r"pcm_(\d+)", self.settings.elevenlabs_output_format)
        if pcm:  # raw signed 16-bit little-endian mono
            usable = len(data) // 2 * 2
            return Audio(np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0, int(pcm.group(1)))
        try:
            return decode(data)
        except AudioDecodeError as error:
            raise BackendError(f"ElevenLabs sent audio we cannot decode: {error}") from None

    def fingerprint(self, voice: str) -> dict[str, Any]:
        """The cloned voice id, model and output format: re-cloning or a new model is a cache miss."""
        return {
            "voice_id": self.voice_id(voice),
            "model": self.settings.elevenlabs_model,
            "output_format": self.settings.elevenlabs_output_format,
        }
