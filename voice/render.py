"""The bots' entry point: answer text in, a playable clip out (or the reason there is none).

``render_clip`` never raises for a voice problem: an answer must still be posted when every backend
is down, so the failure comes back as ``Clip.error`` for the bot to log and move on.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pipelines.settings import Settings
from voice.backends.base import SpeechBackend
from voice.cache import CachedClip, ClipCache, cache_key
from voice.chain import Attempt, VoiceChain
from voice.encoding import FORMATS, MIME_TYPES, ClipFormat, encode
from voice.speech_text import SpeechTextError, prepare_speech_text

logger = logging.getLogger(__name__)


@dataclass
class Clip:
    """A rendered answer clip. ``ok`` is false when ``error`` says why no audio was made."""

    text: str = ""
    files: dict[str, bytes] = field(default_factory=dict)  # "ogg" (Opus) and/or "mp3"
    duration_s: float = 0.0
    backend: str | None = None
    voice: str | None = None
    cached: bool = False
    truncated: bool = False
    error: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """There is audio to post and nothing went wrong."""
        return self.error is None and bool(self.files)

    @property
    def ogg(self) -> bytes | None:
        """The Ogg/Opus file, when rendered (Discord voice messages, Slack)."""
        return self.files.get("ogg")

    @property
    def mp3(self) -> bytes | None:
        """The MP3 file, when rendered."""
        return self.files.get("mp3")

    def mime_type(self, fmt: ClipFormat) -> str:
        """The content type to upload ``fmt`` with."""
        return MIME_TYPES[fmt]

    def filename(self, fmt: ClipFormat, stem: str = "answer") -> str:
        """An upload file name whose extension matches ``fmt`` (players pick the decoder by it)."""
        return f"{stem}.{fmt}"


def build_backends(settings: Settings) -> list[SpeechBackend]:
    """The configured backends in order (COURSE_TA_VOICE_BACKENDS)."""
    from voice.backends.elevenlabs import ElevenLabsBackend
    from voice.backends.piper import PiperBackend
    from voice.backends.tortoise import TortoiseBackend

    factories: dict[str, Callable[[], SpeechBackend]] = {
        "tortoise": lambda: TortoiseBackend(settings),
        "elevenlabs": lambda: ElevenLabsBackend(settings),
        "piper": lambda: PiperBackend.from_settings(settings),
    }
    return [factories[name]() for name in settings.voice_backend_order]


def _voice_label(backend: SpeechBackend, voice: str) -> str:
    return getattr(backend, "voice_label", voice)


class VoiceRenderer:
    """The chain and the cache for one settings object; reuse it (Piper loads its model once)."""

    def __init__(self, settings: Settings, backends: list[SpeechBackend] | None = None):
        self.settings = settings
        self.chain = VoiceChain(backends if backends is not None else build_backends(settings))
        self.cache = ClipCache(settings.clip_cache_dir, settings.voice_cache_max_mb * 1024 * 1024)

    def render(self, text: str, formats: tuple[ClipFormat, ...] = FORMATS) -> Clip:
        """Like :func:`render_clip`; ``Clip.seconds`` is the time this call took."""
        started = time.perf_counter()
        clip = self._render(text, tuple(dict.fromkeys(formats)))
        clip.seconds = time.perf_counter() - started
        return clip

    def _render(self, text: str, formats: tuple[ClipFormat, ...]) -> Clip:
        unknown = [fmt for fmt in formats if fmt not in FORMATS]
        if unknown or not formats:
            return Clip(error=f"unknown clip format(s) {unknown or formats}; expected {', '.join(FORMATS)}")
        if not self.settings.voice_enabled:
            return Clip(error="voice is disabled (COURSE_TA_VOICE_ENABLED=false)")
        try:
            speech = prepare_speech_text(text, self.settings.voice_max_seconds, self.settings.voice_words_per_minute)
        except SpeechTextError as error:
            return Clip(error=str(error))
        voice = self.settings.voice_name
        keys: dict[str, str] = {}

        def cached(backend: SpeechBackend) -> CachedClip | None:
            keys[backend.name] = cache_key(speech.text, backend.name, voice, backend.fingerprint(voice))
            return self.cache.get(keys[backend.name], formats)

        result = self.chain.speak(speech.text, voice, before_each=cached)
        clip = Clip(text=speech.text, truncated=speech.truncated, attempts=result.attempts, backend=result.backend)
        if not result.spoke:
            clip.error = result.error
            return clip
        backend = next(b for b in self.chain.backends if b.name == result.backend)
        clip.voice = _voice_label(backend, voice)
        if result.hit is not None:
            clip.files, clip.duration_s, clip.cached = result.hit.files, float(result.hit.meta["duration_s"]), True
            return clip
        assert result.audio is not None
        try:
            clip.files = {fmt: encode(result.audio, fmt) for fmt in formats}
        except Exception as error:  # an encoder failure is a clip failure, never a cached entry
            clip.error = f"encoding failed: {type(error).__name__}: {error}"
            return clip
        clip.duration_s = result.audio.duration_s
        try:
            self.cache.put(
                keys[backend.name],
                clip.files,
                {"duration_s": clip.duration_s, "backend": backend.name, "voice": clip.voice, "text": speech.text},
            )
        except OSError as error:
            logger.warning("could not cache clip: %s", error)
        return clip


_renderers: dict[tuple[int, str], VoiceRenderer] = {}
_renderers_lock = threading.Lock()


def get_renderer(settings: Settings) -> VoiceRenderer:
    """One renderer per settings object (and its values), kept for the life of the process."""
    key = (id(settings), settings.model_dump_json())
    with _renderers_lock:
        renderer = _renderers.get(key)
        if renderer is None:
            renderer = _renderers[key] = VoiceRenderer(settings)
        return renderer


def render_clip(text: str, settings: Settings, formats: tuple[ClipFormat, ...] = FORMATS) -> Clip:
    """Speak an answer: prepared speech text → first working backend → encoded clip (cached)."""
    return get_renderer(settings).render(text, formats)
