from __future__ import annotations

import numpy as np
import pytest

from voice.audio import Audio
from voice.encoding import encode
from voice.reference_clips import ReferenceClipError, check_clip


def _write_wav(path, samples: np.ndarray, rate: int, channels: int = 1) -> None:
    import wave

    pcm = (np.clip(samples, -1, 1) * 32767).astype("<i2")
    if channels == 2:
        pcm = np.repeat(pcm, 2)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(pcm.tobytes())


def test_real_speech_clip_is_accepted_and_normalized(speech_clip):
    report = check_clip(speech_clip)
    assert report.duration_s > 3 and report.audio.sample_rate == 22050 and report.channels == 1


def test_mp3_speech_is_accepted(speech_clip, tmp_path):
    from voice.encoding import decode

    mp3 = tmp_path / "ref.mp3"
    mp3.write_bytes(encode(decode(speech_clip.read_bytes()), "mp3"))
    assert check_clip(mp3).duration_s > 3


def test_too_short(speech_clip, tmp_path):
    audio = Audio.from_wav(speech_clip.read_bytes())
    short = tmp_path / "short.wav"
    _write_wav(short, audio.samples[: audio.sample_rate], audio.sample_rate)
    with pytest.raises(ReferenceClipError, match="too short"):
        check_clip(short)


def test_silent(tmp_path):
    path = tmp_path / "silent.wav"
    _write_wav(path, np.zeros(22050 * 5, dtype=np.float32), 22050)
    with pytest.raises(ReferenceClipError, match="silent"):
        check_clip(path)


def test_clipped(speech_clip, tmp_path):
    audio = Audio.from_wav(speech_clip.read_bytes())
    path = tmp_path / "loud.wav"
    _write_wav(path, np.clip(audio.samples * 20, -1, 1), audio.sample_rate)
    with pytest.raises(ReferenceClipError, match="clipped"):
        check_clip(path)


def test_stereo_refused_unless_converting(speech_clip, tmp_path):
    audio = Audio.from_wav(speech_clip.read_bytes())
    path = tmp_path / "stereo.wav"
    _write_wav(path, audio.samples, audio.sample_rate, channels=2)
    with pytest.raises(ReferenceClipError, match=r"2 channels.*mono"):
        check_clip(path)
    assert check_clip(path, convert=True).audio.sample_rate == 22050


def test_odd_and_low_sample_rates(speech_clip, tmp_path):
    from voice.reference_clips import resample

    audio = Audio.from_wav(speech_clip.read_bytes())
    odd = tmp_path / "odd.wav"
    _write_wav(odd, resample(audio, 37_000).samples, 37_000)
    with pytest.raises(ReferenceClipError, match="unusual sample rate 37000"):
        check_clip(odd)
    low = tmp_path / "low.wav"
    _write_wav(low, resample(audio, 8_000).samples, 8_000)
    with pytest.raises(ReferenceClipError, match="too low"):
        check_clip(low, convert=True)


def test_not_audio(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are my lecture notes, not a recording")
    with pytest.raises(ReferenceClipError, match="not an audio file"):
        check_clip(path)
    with pytest.raises(ReferenceClipError, match="no such file"):
        check_clip(tmp_path / "missing.wav")
