"""Shared fixtures: offline libraries, a fresh data dir per test, the shared corpus when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.sample_index"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
CORPUS = SHARED / "corpus"
SEEDS = SHARED / "seeds"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own COURSE_TA_* variables or .env, and each gets its own data dir."""
    for name in list(os.environ):
        if name.startswith("COURSE_TA_") and name != "COURSE_TA_ELASTICSEARCH_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "hf-course" / "manifest.csv").exists():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture
def seeds() -> Path:
    if not SEEDS.exists():
        pytest.skip("../shared/seeds is not present")
    return SEEDS
