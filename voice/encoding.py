"""Encode clips as Ogg/Opus (Discord voice messages, Slack, browsers) or MP3 (plays everywhere), and decode back.

PyAV drives the same libopus/libmp3lame that ffmpeg uses, in process: no temporary files and no
``ffmpeg`` subprocess per answer. Decoding is also how we read ElevenLabs MP3 and reference clips.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Literal

import av
import numpy as np

from voice.audio import Audio

ClipFormat = Literal["ogg", "mp3"]
FORMATS: tuple[ClipFormat, ...] = ("ogg", "mp3")
MIME_TYPES = {"ogg": "audio/ogg", "mp3": "audio/mpeg"}
# Decoder names PyAV reports, mapped to the codec a player or ffprobe names.
_CODEC_NAMES = {"mp3float": "mp3", "libopus": "opus"}

# The encoders we use; a Literal (not str) so PyAV's stubs know ``add_stream`` returns an AudioStream.
_Encoder = Literal["libopus", "libmp3lame"]
# (container, codec, rates the encoder accepts, bit rate). Opus only runs at 8/12/16/24/48 kHz.
_ENCODERS: dict[str, tuple[str, _Encoder, tuple[int, ...], int]] = {
    "ogg": ("ogg", "libopus", (48000, 24000, 16000, 12000, 8000), 32_000),
    "mp3": ("mp3", "libmp3lame", (44100, 48000, 32000, 22050, 24000, 16000), 64_000),
}


class AudioDecodeError(ValueError):
    """The bytes are not audio PyAV/ffmpeg can read."""


@dataclass(frozen=True)
class ProbeInfo:
    """An audio stream as a player sees it; ``codec`` uses ffprobe's names ("opus", "mp3")."""

    codec: str
    sample_rate: int
    channels: int
    duration_s: float


def encode(audio: Audio, fmt: ClipFormat) -> bytes:
    """Encode mono audio; resamples when the codec cannot take the source rate (Opus: 48 kHz)."""
    if fmt not in _ENCODERS:
        raise ValueError(f"unknown clip format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if len(audio.samples) == 0:
        raise ValueError("cannot encode an empty clip")
    container_name, codec, rates, bit_rate = _ENCODERS[fmt]
    rate = audio.sample_rate if audio.sample_rate in rates else rates[0]
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_name) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        stream.bit_rate = bit_rate
        sample_format = _pick_format(stream)
        resampler = av.AudioResampler(format=sample_format, layout="mono", rate=rate)
        frame = av.AudioFrame.from_ndarray(audio.to_int16().reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = audio.sample_rate
        for converted in resampler.resample(frame) + resampler.resample(None):
            for packet in stream.encode(converted):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _pick_format(stream: av.audio.stream.AudioStream) -> str:
    supported = [f.name for f in (stream.codec_context.codec.audio_formats or ())]
    for name in ("s16", "s16p", "flt", "fltp"):
        if name in supported:
            return name
    return supported[0]


def decode_samples(data: bytes, sample_format: str, layout: str, rate: int | None = None) -> tuple[np.ndarray, int]:
    """Decode any container/codec ffmpeg knows to interleaved samples in ``sample_format``/``layout``.

    The samples are at ``rate`` (the stream's own rate when None). The one decoding loop for clips,
    voices and Discord.
    """
    if not data:
        raise AudioDecodeError("no audio data (0 bytes)")
    chunks: list[np.ndarray] = []
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioDecodeError("the file has no audio stream")
            stream = container.streams.audio[0]
            rate = rate or stream.codec_context.sample_rate or stream.rate or 0
            resampler = av.AudioResampler(format=sample_format, layout=layout, rate=rate)
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    chunks.append(converted.to_ndarray().reshape(-1))
            for converted in resampler.resample(None):
                chunks.append(converted.to_ndarray().reshape(-1))
    except AudioDecodeError:
        raise
    except (av.error.FFmpegError, ValueError) as error:
        raise AudioDecodeError(f"not readable audio: {error}") from None
    if not chunks or not rate or rate <= 0:
        raise AudioDecodeError("the audio stream holds no samples")
    return np.concatenate(chunks), rate


def decode(data: bytes) -> Audio:
    """Decode any container/codec ffmpeg knows to mono float audio at its native rate."""
    samples, rate = decode_samples(data, "flt", "mono")
    return Audio(samples.astype(np.float32), rate)


def probe(data: bytes) -> ProbeInfo:
    """Codec, rate, channels and duration as the container reports them (what a player will see)."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise AudioDecodeError("the file has no audio stream")
            stream = container.streams.audio[0]
            duration = _duration(container, stream)
            return ProbeInfo(
                codec=_CODEC_NAMES.get(stream.codec_context.name, stream.codec_context.name),
                sample_rate=stream.codec_context.sample_rate,
                channels=stream.codec_context.channels,
                duration_s=duration,
            )
    except av.error.FFmpegError as error:
        raise AudioDecodeError(f"not readable audio: {error}") from None


def _duration(container: av.container.InputContainer, stream: av.audio.stream.AudioStream) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0
