"""The real ``elevenlabs`` SDK against a local server that answers like api.elevenlabs.io."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web

from voice.cloning import clone_voice
from voice.encoding import encode
from voice.render import VoiceRenderer, build_backends

API_KEY = "sk_test_0123456789abcdef"
QUOTA = {
    "detail": {
        "status": "quota_exceeded",
        "message": "This request exceeds your quota of 10000. You have 12 credits remaining, while 85 credits are required for this request.",
    }
}
RATE = {"detail": {"status": "too_many_concurrent_requests", "message": "Too many concurrent requests for your subscription."}}


class FakeElevenLabs:
    """Records requests; ``mode`` switches between success, quota (401) and rate limit (429)."""

    def __init__(self, mp3: bytes):
        self.mp3, self.mode = mp3, "ok"
        self.calls: list[tuple[str, dict]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/voices/add", self.add_voice)
        app.router.add_post("/v1/text-to-speech/{voice_id}", self.tts)
        return app

    def _auth(self, request: web.Request) -> web.Response | None:
        if request.headers.get("xi-api-key") != API_KEY:
            return web.json_response({"detail": {"status": "invalid_api_key", "message": "Invalid API key"}}, status=401)
        return None

    async def add_voice(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        form = await request.post()
        files = form.getall("files")
        self.calls.append(("add", {"name": form["name"], "files": len(files), "first_type": files[0].content_type}))
        return web.json_response({"voice_id": "JBFqnCBsd6RMkjVDRZzb", "requires_verification": False})

    async def tts(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        self.calls.append(("tts", {"voice_id": request.match_info["voice_id"], "query": dict(request.query), **body}))
        if self.mode == "quota":
            return web.json_response(QUOTA, status=401)
        if self.mode == "rate":
            return web.json_response(RATE, status=429)
        response = web.StreamResponse(headers={"Content-Type": "audio/mpeg"})
        await response.prepare(request)
        for start in range(0, len(self.mp3), 4096):  # chunked, as the real API streams
            await response.write(self.mp3[start : start + 4096])
        await response.write_eof()
        return response


@pytest.fixture(scope="module")
def fake(piper):
    return FakeElevenLabs(encode(piper.synthesize("This answer comes from the hosted voice.", "x"), "mp3"))


def test_clone_once_synthesize_and_fall_through_on_quota(make_settings, fake, speech_clip, caplog, serve_app):
    caplog.set_level(logging.DEBUG)
    with serve_app(fake.app()) as url:
        settings = make_settings(elevenlabs_api_key=API_KEY, elevenlabs_base_url=url, voice_backends="elevenlabs,piper")
        report = clone_voice("instructor", [speech_clip, speech_clip], settings)
        assert report.backends["elevenlabs"] == "cloned as JBFqnCBsd6RMkjVDRZzb"
        assert "tortoise" in report.failed
        again = clone_voice("instructor", [speech_clip, speech_clip], settings)
        assert again.backends["elevenlabs"].startswith("already cloned")
        assert [c for c in fake.calls if c[0] == "add"] == [
            ("add", {"name": "course-ta instructor", "files": 1, "first_type": "audio/wav"})
        ]

        renderer = VoiceRenderer(settings, build_backends(settings))
        clip = renderer.render("The hosted voice answers first [1].")
        assert clip.ok and clip.backend == "elevenlabs" and not clip.cached
        assert abs(clip.duration_s - 2.0) < 1.5
        tts = [c for c in fake.calls if c[0] == "tts"][-1][1]
        assert tts["voice_id"] == "JBFqnCBsd6RMkjVDRZzb" and tts["model_id"] == "eleven_multilingual_v2"
        assert tts["query"]["output_format"] == "mp3_44100_128" and tts["text"] == "The hosted voice answers first."

        fake.mode = "quota"
        clip = renderer.render("A different answer, so the cache cannot help.")
        assert clip.ok and clip.backend == "piper"
        reason = clip.attempts[0].reason
        assert clip.attempts[0].outcome == "error" and "quota exceeded (HTTP 401)" in reason and "12 credits remaining" in reason

        fake.mode = "rate"
        clip = renderer.render("Yet another answer for the rate limit.")
        assert clip.backend == "piper" and "rate limited" in clip.attempts[0].reason and "HTTP 429" in clip.attempts[0].reason
        fake.mode = "ok"
    assert API_KEY not in caplog.text


def test_wrong_key_is_reported_without_the_key(make_settings, fake, speech_clip, serve_app):
    with serve_app(fake.app()) as url:
        settings = make_settings(elevenlabs_api_key="sk_wrong_key_value", elevenlabs_base_url=url, voice_backends="elevenlabs")
        report = clone_voice("instructor", [speech_clip, speech_clip], settings)
        assert "API key rejected (HTTP 401)" in report.failed["elevenlabs"]
        assert "sk_wrong" not in report.failed["elevenlabs"]


def test_pcm_output_format(make_settings, speech_clip, piper, serve_app):
    from voice.backends.elevenlabs import ElevenLabsBackend

    pcm_audio = piper.synthesize("Raw samples this time.", "x")
    app = web.Application()

    async def tts(request: web.Request) -> web.Response:
        assert request.query["output_format"] == "pcm_22050"
        return web.Response(body=pcm_audio.to_int16().tobytes(), content_type="application/octet-stream")

    async def add(request: web.Request) -> web.Response:
        return web.json_response({"voice_id": "pcmvoice", "requires_verification": False})

    app.router.add_post("/v1/text-to-speech/{voice_id}", tts)
    app.router.add_post("/v1/voices/add", add)
    with serve_app(app) as url:
        settings = make_settings(elevenlabs_api_key=API_KEY, elevenlabs_base_url=url, elevenlabs_output_format="pcm_22050")
        clone_voice("instructor", [speech_clip, speech_clip], settings)
        audio = ElevenLabsBackend(settings).synthesize("Raw samples this time.", "instructor")
    assert audio.sample_rate == 22050 and abs(audio.duration_s - pcm_audio.duration_s) < 0.01


def test_no_key_is_unavailable_for_a_real_reason(make_settings):
    from voice.backends.elevenlabs import ElevenLabsBackend

    availability = ElevenLabsBackend(make_settings()).available("instructor")
    assert not availability and "no API key" in availability.reason
