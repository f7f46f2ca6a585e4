"""Reference clips for cloning: checked before any backend sees them, normalized once.

A cloned voice is only as good as its samples; a silent, clipped or 2-second clip gives a voice
that sounds wrong with no error anywhere. So every problem is caught here with a message that says
what to fix. Accepted clips are stored as mono 22.05 kHz 16-bit WAV: what Tortoise's ``load_audio``
expects and what ElevenLabs accepts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice.audio import Audio
from voice.backends.base import ReferenceClipFile
from voice.encoding import AudioDecodeError, decode, probe

MIN_SECONDS = 3.0
MAX_SECONDS = 60.0
MIN_SAMPLE_RATE = 16_000
TARGET_RATE = 22_050
SILENCE_DBFS = -45.0  # a frame quieter than this is silence
MAX_SILENT_FRACTION = 0.6
CLIPPED_LEVEL = 0.999
MAX_CLIPPED_FRACTION = 0.001
STANDARD_RATES = (16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 88_200, 96_000)
MAX_FILE_BYTES = 200 * 1024 * 1024


class ReferenceClipError(ValueError):
    """A reference clip cannot be used; the message names the file and what to do."""


@dataclass(frozen=True)
class ClipReport:
    """A clip that passed :func:`check_clip`: what it was and its normalized audio."""

    path: Path
    duration_s: float
    sample_rate: int
    channels: int
    audio: Audio  # mono, resampled to TARGET_RATE


def _fix_hint(path: Path) -> str:
    return f"convert it with: ffmpeg -i '{path}' -ac 1 -ar {TARGET_RATE} fixed.wav"


def check_clip(path: Path, convert: bool = False) -> ClipReport:
    """Validate one clip: readable audio, mono, standard rate, 3-60 s, not silent, not clipped.

    ``convert`` accepts stereo and odd sample rates by downmixing/resampling instead of refusing.
    """
    path = Path(path)
    if not path.is_file():
        raise ReferenceClipError(f"{path}: no such file")
    size = path.stat().st_size
    if size == 0 or size > MAX_FILE_BYTES:
        raise ReferenceClipError(f"{path}: {'empty file' if size == 0 else 'larger than 200 MB'}")
    data = path.read_bytes()
    try:
        info = probe(data)
        audio = decode(data)
    except AudioDecodeError as error:
        raise ReferenceClipError(f"{path}: not an audio file ffmpeg can read ({error})") from None
    duration = audio.duration_s
    if duration < MIN_SECONDS:
        raise ReferenceClipError(f"{path}: too short ({duration:.1f} s); use clips of {MIN_SECONDS:g}-{MAX_SECONDS:g} s of clear speech")
    if duration > MAX_SECONDS:
        raise ReferenceClipError(f"{path}: too long ({duration:.1f} s); cut it into clips of at most {MAX_SECONDS:g} s")
    if not convert:
        if info.channels != 1:
            raise ReferenceClipError(
                f"{path}: {info.channels} channels; reference clips must be mono ({_fix_hint(path)}, or pass --convert)"
            )
        if info.sample_rate not in STANDARD_RATES:
            raise ReferenceClipError(f"{path}: unusual sample rate {info.sample_rate} Hz ({_fix_hint(path)}, or pass --convert)")
    if info.sample_rate < MIN_SAMPLE_RATE:
        raise ReferenceClipError(
            f"{path}: sample rate {info.sample_rate} Hz is too low for cloning (at least {MIN_SAMPLE_RATE} Hz; re-record, upsampling adds nothing)"
        )
    _check_levels(path, audio)
    return ClipReport(path, duration, info.sample_rate, info.channels, resample(audio, TARGET_RATE))


def _check_levels(path: Path, audio: Audio) -> None:
    samples = audio.samples
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    frame = max(1, int(0.05 * audio.sample_rate))
    usable = len(samples) // frame * frame
    frames = samples[:usable].reshape(-1, frame)
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1) + 1e-20)
    dbfs = 20 * np.log10(rms)
    silent = float(np.mean(dbfs < SILENCE_DBFS)) if len(dbfs) else 1.0
    if peak < 10 ** (SILENCE_DBFS / 20) or silent >= 0.98:
        raise ReferenceClipError(f"{path}: silent (peak {20 * np.log10(peak + 1e-12):.0f} dBFS); record the instructor speaking")
    if silent > MAX_SILENT_FRACTION:
        raise ReferenceClipError(f"{path}: mostly silence ({silent:.0%} of the clip); trim the pauses so speech fills the clip")
    clipped = float(np.mean(np.abs(samples) >= CLIPPED_LEVEL))
    if clipped > MAX_CLIPPED_FRACTION:
        raise ReferenceClipError(f"{path}: clipped ({clipped:.2%} of samples at full scale); record again with lower input gain")


def resample(audio: Audio, rate: int) -> Audio:
    """The same mono audio at ``rate`` Hz (returned as is when already there)."""
    if audio.sample_rate == rate:
        return audio
    import av

    resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
    frame = av.AudioFrame.from_ndarray(audio.samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
    frame.sample_rate = audio.sample_rate
    out = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame) + resampler.resample(None)]
    return Audio(np.concatenate(out).astype(np.float32), rate)


def store_clips(reports: list[ClipReport], folder: Path) -> list[ReferenceClipFile]:
    """Write normalized WAVs named by content hash (re-adding the same clip is a no-op)."""
    folder.mkdir(parents=True, exist_ok=True)
    stored: list[ReferenceClipFile] = []
    for report in reports:
        wav = report.audio.to_wav()
        digest = hashlib.sha256(wav).hexdigest()
        target = folder / f"{digest[:16]}.wav"
        if any(clip.sha256 == digest for clip in stored):
            continue  # the same clip given twice counts once
        if not target.exists():
            temporary = target.with_suffix(".tmp")
            temporary.write_bytes(wav)
            temporary.replace(target)
        stored.append(ReferenceClipFile(target, digest, report.audio.duration_s))
    return stored
