"""Voice benchmark: Piper speed against espeak-ng (same machine, same run), cache hit vs miss, encoding.

Writes benchmarks/results/voice_bench.json. Figures:
- Piper real-time factor (synthesis time / audio duration) and the time for a ~20 s answer
  (target < 2 s), against espeak-ng synthesizing the same text (the formant baseline Piper's own
  phonemizer is built on);
- a clip cache hit through ``render_clip`` (target < 50 ms) against the miss that rendered it;
- Ogg/Opus and MP3 encoding time for that clip, as a fraction of its duration.
Tortoise is not measured here (it needs a CUDA GPU and its weights): see the README's Voice section for its
published speed.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipelines.settings import load_settings
from voice.backends.piper import PiperBackend
from voice.encoding import encode
from voice.render import VoiceRenderer
from voice.speech_text import prepare_speech_text

ANSWER = (
    "Gradient descent updates the weights a little at a time. At every step it measures the slope of the loss, "
    "then moves the weights downhill by the learning rate times that slope. If the learning rate is too large, "
    "the loss jumps around or even grows; if it is too small, training crawls. That is why lecture four starts "
    "with a rate of zero point zero one and lowers it when the loss stops improving."
)
REPEATS = 5
T = TypeVar("T")


def timed(function: Callable[[], T], repeats: int = REPEATS) -> tuple[float, T]:
    times: list[float] = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def espeak_seconds(text: str) -> float | None:
    binary = shutil.which("espeak-ng")
    if not binary:
        return None
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "e.wav"
        seconds, _ = timed(lambda: subprocess.run([binary, "-w", str(out), text], check=True, capture_output=True))
    return seconds


def main() -> None:
    speech = prepare_speech_text(ANSWER).text
    piper = PiperBackend()
    piper.synthesize("Warm up.", "x")  # model load is a one-time cost, reported separately
    piper_seconds, audio = timed(lambda: piper.synthesize(speech, "x"))
    duration = audio.duration_s
    per_20s = piper_seconds * 20.0 / duration
    espeak = espeak_seconds(speech)
    ogg_seconds, ogg = timed(lambda: encode(audio, "ogg"))
    mp3_seconds, mp3 = timed(lambda: encode(audio, "mp3"))

    with tempfile.TemporaryDirectory() as data_dir:
        settings = load_settings(data_dir=Path(data_dir), voice_backends="piper")
        renderer = VoiceRenderer(settings)
        miss = renderer.render(ANSWER)
        hit_seconds, hit = timed(lambda: renderer.render(ANSWER), repeats=20)
        assert miss.ok and not miss.cached and hit.cached

    results = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "answer": {"spoken_words": len(speech.split()), "audio_s": round(duration, 2)},
        "piper": {
            "synthesis_s": round(piper_seconds, 3),
            "real_time_factor": round(piper_seconds / duration, 4),
            "x_real_time": round(duration / piper_seconds, 1),
            "seconds_for_20s_answer": round(per_20s, 3),
            "target_20s_answer_s": 2.0,
            "meets_target": per_20s < 2.0,
        },
        "baseline_espeak_ng": {
            "synthesis_s": round(espeak, 3) if espeak else None,
            "piper_over_espeak": round(piper_seconds / espeak, 2) if espeak else None,
        },
        "cache": {
            "miss_s": round(miss.seconds, 3),
            "hit_s": round(hit_seconds, 5),
            "hit_ms": round(hit_seconds * 1000, 2),
            "target_hit_ms": 50,
            "meets_target": hit_seconds < 0.05,
            "miss_over_hit": round(miss.seconds / hit_seconds, 1),
        },
        "encoding": {
            "ogg_opus_s": round(ogg_seconds, 4),
            "ogg_bytes": len(ogg),
            "mp3_s": round(mp3_seconds, 4),
            "mp3_bytes": len(mp3),
            "opus_fraction_of_synthesis": round(ogg_seconds / piper_seconds, 3),
            "opus_x_real_time": round(duration / ogg_seconds, 1),
        },
        "tortoise": "not measured here (needs a CUDA GPU and the weights); see the README's Voice section for published figures",
    }
    out = Path(__file__).resolve().parent / "results" / "voice_bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
