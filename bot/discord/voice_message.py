"""The spoken answer as a Discord voice message: the player with a waveform, not a file to download.

A voice message is a message with the ``IS_VOICE_MESSAGE`` flag (``1 << 13``), no text, and exactly
one audio attachment (Ogg/Opus, sent with an ``audio/*`` content type) whose attachment entry
carries ``duration_secs`` and ``waveform``: at most 256 loudness points, one byte each (0-255),
base64-encoded, at most one point per 100 ms. discord.py reads such messages but cannot send one,
so the request is built here and sent through discord.py's own HTTP client (rate limits, retries,
auth), to the interaction's followup webhook or to a channel. Interaction followups accept the flag.

Where Discord refuses (the channel forbids voice messages, a permission is missing, or it rejects
the metadata) the caller falls back to a plain ``.ogg`` attachment.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass
from typing import Any

import discord
import numpy as np
from discord.http import Route

from voice.audio import Audio
from voice.encoding import decode

IS_VOICE_MESSAGE = 1 << 13
MAX_WAVEFORM_POINTS = 256
SECONDS_PER_POINT = 0.1  # Discord's clients sample at most once per 100 ms
FILENAME = "voice-message.ogg"
CONTENT_TYPE = "audio/ogg"
# Discord's JSON error codes that mean "not as a voice message here" (the fallback is a plain attachment).
VOICE_REFUSALS = frozenset({50159, 50160, 50161, 50173})


def waveform(audio: Audio, max_points: int = MAX_WAVEFORM_POINTS) -> bytes:
    """Loudness per window: RMS over ``len(points)`` equal windows, scaled so the loudest window is 255.

    One point per 100 ms of audio, at most ``max_points``; silence is 0 (an all-silent clip is all 0).
    """
    samples = np.asarray(audio.samples, dtype=np.float64)
    points = max(1, min(max_points, math.ceil(audio.duration_s / SECONDS_PER_POINT)))
    if len(samples) == 0:
        return bytes(points)
    windows = np.array_split(samples, min(points, len(samples)))
    rms = np.array([math.sqrt(float(np.mean(w * w))) if len(w) else 0.0 for w in windows])
    peak = float(rms.max())
    if peak <= 1e-6:  # digital silence: a flat line, not amplified noise
        return bytes(len(rms))
    return bytes(np.clip(np.round(rms / peak * 255.0), 0, 255).astype(np.uint8).tolist())


@dataclass(frozen=True)
class VoiceAttachment:
    """An Ogg/Opus clip with what a voice message declares about it."""

    ogg: bytes
    duration_s: float
    waveform: bytes

    @classmethod
    def from_ogg(cls, ogg: bytes) -> VoiceAttachment:
        """Duration and waveform measured on the clip itself (decoded with PyAV), not on what it was made from."""
        audio = decode(ogg)
        return cls(ogg, audio.duration_s, waveform(audio))

    def payload(self, extra: dict[str, Any] | None = None) -> dict[str, Any]:
        """The message JSON: the flag, no content, one attachment entry with ``duration_secs`` and ``waveform``."""
        return {
            "flags": IS_VOICE_MESSAGE,
            "attachments": [
                {
                    "id": 0,
                    "filename": FILENAME,
                    "duration_secs": round(self.duration_s, 2),
                    "waveform": base64.b64encode(self.waveform).decode("ascii"),
                }
            ],
            **(extra or {}),
        }

    def form(self, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The multipart fields for ``HTTPClient.request``: ``payload_json`` and ``files[0]`` typed ``audio/ogg``."""
        return [
            {"name": "payload_json", "value": discord.utils._to_json(self.payload(extra))},
            {"name": "files[0]", "value": io.BytesIO(self.ogg), "filename": FILENAME, "content_type": CONTENT_TYPE},
        ]


def followup_route(application_id: int, token: str) -> Route:
    """An interaction's followup webhook (``wait`` is implied for followups)."""
    return Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=application_id, webhook_token=token)


def channel_route(channel_id: int) -> Route:
    """A channel's messages, sent as the bot."""
    return Route("POST", "/channels/{channel_id}/messages", channel_id=channel_id)


async def send_voice_message(http: discord.http.HTTPClient, route: Route, clip: VoiceAttachment, **extra: Any) -> dict[str, Any]:
    """POST the voice message; returns Discord's message object. ``extra`` adds JSON fields (e.g. ``message_reference``).

    Raises :class:`discord.HTTPException` as discord.py does; :func:`is_refusal` tells which ones
    mean "send it as a plain attachment instead".
    """
    # HTTPClient.request rewinds ``files`` before each try (rate-limit retries re-send the body), so the
    # clip travels as a discord.File and the form part reads from that file's buffer.
    file = discord.File(io.BytesIO(clip.ogg), filename=FILENAME)
    form = clip.form(extra)
    form[1]["value"] = file.fp
    result: dict[str, Any] = await http.request(route, form=form, files=[file])
    return result


def is_refusal(error: discord.HTTPException) -> bool:
    """Discord will not take a voice message here: a voice-message error code, a bad request or a forbidden one."""
    return error.code in VOICE_REFUSALS or error.status in (400, 403)
