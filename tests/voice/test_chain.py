"""The chain falls through real unavailability, real errors and real timeouts to a backend that speaks."""

from __future__ import annotations

from voice.chain import VoiceChain
from voice.render import render_clip


def test_default_chain_falls_through_to_piper_for_real_reasons(make_settings):
    settings = make_settings()
    clip = render_clip("Gradient descent takes small steps downhill.", settings)
    assert clip.ok and clip.backend == "piper" and clip.voice == "en_US-joe-medium"
    outcomes = [(a.backend, a.outcome) for a in clip.attempts]
    assert outcomes == [("tortoise", "unavailable"), ("elevenlabs", "unavailable"), ("piper", "spoke")]
    assert "COURSE_TA_TORTOISE_URL is not set" in clip.attempts[0].reason
    assert "no API key" in clip.attempts[1].reason
    assert set(clip.files) == {"ogg", "mp3"} and clip.duration_s > 1


def test_unreachable_worker_is_unavailable(make_settings):
    clip = render_clip("A closed port.", make_settings(tortoise_url="http://127.0.0.1:9", voice_backends="tortoise,piper"))
    assert clip.backend == "piper" and "worker unreachable" in clip.attempts[0].reason


def test_hung_backend_times_out_and_the_chain_moves_on(make_settings, serve_app):
    """A worker that says it is ready but never answers /synthesize: the backend's deadline fires."""
    import asyncio

    from aiohttp import web

    async def health(request):
        return web.json_response({"ready": True, "voices": ["instructor"], "reason": ""})

    async def synthesize(request):
        await asyncio.sleep(3600)

    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_post("/synthesize", synthesize)
    with serve_app(app) as url:
        settings = make_settings(tortoise_url=url, voice_backends="tortoise,piper", tortoise_timeout_s=1.0)
        clip = render_clip("This must not wait forever.", settings)
    assert clip.ok and clip.backend == "piper"
    assert clip.attempts[0].outcome in ("timeout", "error")
    assert "within 1 s" in clip.attempts[0].reason


def test_every_backend_failing_is_an_error_not_an_exception(make_settings):
    settings = make_settings(voice_backends="tortoise,elevenlabs", voice_name="nobody")
    clip = render_clip("Nobody can say this.", settings)
    assert not clip.ok and clip.files == {}
    assert clip.error.startswith("no voice backend could speak: tortoise: COURSE_TA_TORTOISE_URL")
    assert not list(settings.clip_cache_dir.rglob("*.ogg"))


def test_bad_text_is_an_error_and_nothing_is_cached(make_settings):
    settings = make_settings()
    for text in ("", "🎉🎉", "https://example.com"):
        clip = render_clip(text, settings)
        assert not clip.ok and "nothing to say" in clip.error
    assert not settings.clip_cache_dir.exists() or not any(settings.clip_cache_dir.rglob("*.*"))


def test_chain_reports_a_crashing_backend(make_settings):
    """A backend whose model file is corrupt fails with an error and the next one speaks."""
    from voice.backends.piper import PiperBackend

    broken_model = make_settings().data_dir / "broken.onnx"
    broken_model.parent.mkdir(parents=True, exist_ok=True)
    broken_model.write_bytes(b"not an onnx model")
    (broken_model.parent / "broken.onnx.json").write_text("{}")
    chain = VoiceChain([PiperBackend(broken_model), PiperBackend()])
    result = chain.speak("Hello.", "x")
    assert result.spoke and [a.outcome for a in result.attempts] == ["error", "spoke"]
    assert "cannot load Piper voice" in result.attempts[0].reason
