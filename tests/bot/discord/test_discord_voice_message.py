"""The clip as a Discord voice message, its fallback, and /ask under a saturated answer pool.

The speech backend here is a tone generator (a stand-in for an external TTS service, like the
recorded servers elsewhere): silent, then loud, so the waveform's shape can be checked against it.
"""

from __future__ import annotations

import base64
import math
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.answering.service import AnswerService
from bot.discord.voice_message import IS_VOICE_MESSAGE, MAX_WAVEFORM_POINTS, waveform
from pipelines.settings import load_settings
from tests.bot.discord.discord_payloads import command_interaction, option
from tests.bot.discord.discord_scenario import Scenario
from voice.audio import Audio
from voice.backends.base import Availability
from voice.encoding import decode, probe
from voice.render import VoiceRenderer

QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"
QUIET_S, LOUD_S, RATE = 2.0, 3.0, 24_000


class ToneBackend:
    """Speaks every text as ``QUIET_S`` of silence, then ``LOUD_S`` of a loud 440 Hz tone."""

    name = "tone"
    timeout_s = 30.0

    def available(self, voice: str) -> Availability:
        return Availability.yes()

    def synthesize(self, text: str, voice: str) -> Audio:
        t = np.arange(int(LOUD_S * RATE)) / RATE
        loud = 0.8 * np.sin(2 * math.pi * 440 * t)
        return Audio(np.concatenate([np.zeros(int(QUIET_S * RATE)), loud]).astype(np.float32), RATE)

    def fingerprint(self, voice: str) -> dict[str, Any]:
        return {"tone": "silent-then-loud", "quiet_s": QUIET_S, "loud_s": LOUD_S}


@pytest.fixture
def tone_renderer(tmp_path: Path) -> VoiceRenderer:
    return VoiceRenderer(load_settings(data_dir=tmp_path, voice_backends="piper"), backends=[ToneBackend()])  # type: ignore[list-item]


def voice_calls(s: Scenario, payload: dict[str, Any]) -> list[Any]:
    return [c for c in s.calls_for(payload) if c.is_voice_message]


def test_the_voice_message_carries_the_flag_an_opus_file_and_a_waveform_of_its_loudness(run_bot, tone_renderer) -> None:
    async def body(s: Scenario) -> None:
        payload = command_interaction("ask", [option("question", QUESTION)])
        s.interact(payload)
        calls = await s.until(payload, 3)
        text, voice = calls[1], calls[2]
        assert text.seq < voice.seq and not text.files  # the text went out before the clip
        assert voice.payload["flags"] & IS_VOICE_MESSAGE and not voice.payload.get("content") and not voice.payload.get("embeds")

        (part,) = voice.files
        assert part.content_type.startswith("audio/")
        info = probe(part.data)
        assert info.codec == "opus"
        audio = decode(part.data)  # the file decodes (PyAV/ffmpeg)
        assert audio.duration_s == pytest.approx(QUIET_S + LOUD_S, abs=0.1)

        (entry,) = voice.payload["attachments"]
        assert entry["duration_secs"] == pytest.approx(audio.duration_s, abs=0.02)
        points = list(base64.b64decode(entry["waveform"]))
        assert len(points) == min(MAX_WAVEFORM_POINTS, math.ceil(audio.duration_s / 0.1))  # one point per 100 ms
        quiet_end = int(len(points) * QUIET_S / (QUIET_S + LOUD_S))
        # silent, then loud: the envelope of what was spoken (a window or two of codec ramp at the edge)
        assert max(points[: quiet_end - 2]) <= 5
        assert min(points[quiet_end + 2 :]) >= 200 and max(points) == 255

    run_bot(body, renderer_override=tone_renderer)


def test_a_refused_voice_message_falls_back_to_a_plain_attachment(run_bot, tone_renderer) -> None:
    def no_voice_messages(api) -> None:
        api.fail("POST", r"^/webhooks/", 403, 50173, "You cannot send voice messages in this channel.", when=lambda c: c.is_voice_message)

    async def body(s: Scenario) -> None:
        payload = command_interaction("ask", [option("question", QUESTION)])
        s.interact(payload)
        calls = await s.until(payload, 4)
        text, refused, fallback = calls[1], calls[2], calls[3]
        assert not text.files and refused.is_voice_message
        assert not fallback.is_voice_message and fallback.payload["attachments"][0]["filename"] == "answer.ogg"
        (part,) = fallback.files
        assert decode(part.data).duration_s == pytest.approx(QUIET_S + LOUD_S, abs=0.1)
        assert any("refused the clip as a voice message" in m for _, m in s.log.events)

    run_bot(body, renderer_override=tone_renderer, prepare_api=no_voice_messages)


def test_attachment_mode_never_sends_a_voice_message(run_bot, tone_renderer) -> None:
    async def body(s: Scenario) -> None:
        payload = command_interaction("ask", [option("question", QUESTION)])
        s.interact(payload)
        calls = await s.until(payload, 3)
        assert not voice_calls(s, payload) and calls[2].files[0].filename == "answer.ogg"

    run_bot(body, renderer_override=tone_renderer, discord_clip_mode="attachment")


def test_a_saturated_pool_shows_the_queue_position_then_the_answer(run_bot, indexed, course_dir, tone_renderer) -> None:
    shared, _ = indexed
    one_worker = AnswerService(load_settings(data_dir=course_dir, voice_backends="piper", answer_workers=1), shared.bundle)
    release = threading.Event()
    busy = one_worker.pool.submit(release.wait)  # the only worker is answering someone else
    waiting = one_worker.pool.submit(release.wait)  # and one more question waits in line

    async def body(s: Scenario) -> None:
        try:
            payload = command_interaction("ask", [option("question", QUESTION)])
            s.interact(payload)
            calls = await s.until(payload, 2)
            notice = calls[1]
            assert notice.method == "PATCH" and notice.path.endswith("/messages/@original")
            assert "Queued, 1 ahead" in notice.payload["content"]
            assert one_worker.queue_depth() == 2
        finally:
            release.set()
        calls = await s.until(payload, 4)
        answer, voice = calls[2], calls[3]
        # the notice becomes the answer (same message), then the clip follows
        assert answer.method == "PATCH" and answer.path.endswith("/messages/@original")
        assert answer.payload["content"] is None and answer.payload["embeds"][0]["title"] == QUESTION
        assert voice.is_voice_message and answer.seq < voice.seq

    try:
        run_bot(body, service_override=one_worker, renderer_override=tone_renderer)
    finally:
        release.set()
        busy.result(timeout=10)
        waiting.result(timeout=10)
        one_worker.close()


def test_waveform_of_digital_silence_is_flat_and_short_clips_get_one_point_per_tenth_of_a_second() -> None:
    assert waveform(Audio(np.zeros(RATE, dtype=np.float32), RATE)) == bytes(10)
    long = Audio(np.ones(RATE * 60, dtype=np.float32), RATE)
    assert waveform(long) == bytes([255]) * MAX_WAVEFORM_POINTS
