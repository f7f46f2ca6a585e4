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
