"""Shared for production tests: a tiny embedded index of the sample course, built once per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli.demo import SAMPLE_COURSE
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings


@pytest.fixture(scope="session")
def _sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("sample-data")
    settings = load_settings(data_dir=data_dir)
    report = Ingestor(settings).ingest([SAMPLE_COURSE])
    assert report.count("added") == 4
    return settings.store_dir


@pytest.fixture
def sample_data_dir(_sample_store: Path, tmp_path: Path) -> Path:
    """A data dir of this test's own holding the indexed sample course."""
    data_dir = tmp_path / "data"
    shutil.copytree(_sample_store, data_dir / "store")
    return data_dir
