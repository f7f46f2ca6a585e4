"""Fixtures for the freshness tests: offline libraries, synthesized speech, local YouTube."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HAYSTACK_TELEMETRY_ENABLED"] = "False"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "benchmarks"))  # lecture_audio (a site-packages 'benchmarks' shadows the folder)

from lecture_audio import LECTURE_PARAGRAPHS, synthesize  # noqa: E402

DATA = REPO / "tests" / "data" / "youtube"


@pytest.fixture(scope="session")
def lecture_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """~30 s of synthesized lecture (Piper, bundled voice) and the text that was spoken."""
    paragraphs = LECTURE_PARAGRAPHS[:3]
    path = tmp_path_factory.mktemp("speech") / "lecture.wav"
    synthesize(paragraphs, path)
    return path, " ".join(paragraphs)


@pytest.fixture(scope="session")
def short_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """~12 s of synthesized speech: for end-to-end sync tests that transcribe."""
    paragraphs = [LECTURE_PARAGRAPHS[3]]
    path = tmp_path_factory.mktemp("speech") / "short.wav"
    synthesize(paragraphs, path)
    return path, " ".join(paragraphs)


@pytest.fixture(scope="session")
def transcriber():
    from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber

    component = FasterWhisperTranscriber(batch_size=1)
    component.warm_up()
    return component


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from pipelines.settings import load_settings

    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path / "data"))
    return load_settings(data_dir=tmp_path / "data", retry_base_seconds=0.0, whisper_batch_size=1, sync_workers=1)


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Levenshtein distance over normalised words / reference length."""
    import re

    def words(text: str) -> list[str]:
        return re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()

    ref, hyp = words(reference), words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h))
        previous = current
    return previous[-1] / max(1, len(ref))
