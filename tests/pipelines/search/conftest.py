"""Fixtures for the search-quality tests: the sample course indexed once per module, in its own data dir."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SAMPLE_COURSE = REPO / "pipelines" / "sample_course"
DEV_QUESTIONS = REPO / "tests" / "data" / "dev_questions.jsonl"


@pytest.fixture(scope="module")
def sample_index(tmp_path_factory: pytest.TempPathFactory):
    """(settings, bundle) with the four-video sample course ingested with the bundled MiniLM."""
    from pipelines.freshness.ingest import Ingestor
    from pipelines.settings import load_settings

    data_dir = tmp_path_factory.mktemp("search-index")
    settings = load_settings(data_dir=data_dir)
    ingestor = Ingestor(settings)
    report = ingestor.ingest([SAMPLE_COURSE])
    assert report.count("added") == 4
    return settings, ingestor.bundle


def record_embedded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, every text embedded on its own (not as part of a chunk's pass), in order; the real model still runs."""
    from pipelines.search import sentence_vectors

    embedded: list[str] = []
    original = sentence_vectors._embed

    def spy(embedder, texts):
        embedded.extend(texts)
        return original(embedder, texts)

    monkeypatch.setattr(sentence_vectors, "_embed", spy)
    return embedded
