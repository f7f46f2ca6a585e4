"""Shared fixtures: offline libraries, a fresh data dir per test, the shared corpus when present.

``COURSE_TA_ELASTICSEARCH_URL`` switches the whole app to Elasticsearch, so only tests marked
``elasticsearch`` may see it: it is taken out of the environment once collection is over (the live
test modules read it at import, for their skip conditions) and put back for those tests alone.
"""

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

ELASTICSEARCH_URL_VARIABLE = "COURSE_TA_ELASTICSEARCH_URL"
_stash: dict[str, str] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Stash the live Elasticsearch URL before any fixture or test runs (session fixtures included)."""
    url = os.environ.pop(ELASTICSEARCH_URL_VARIABLE, None)
    if url:
        _stash[ELASTICSEARCH_URL_VARIABLE] = url


@pytest.fixture
def elasticsearch_url() -> str:
    """The live cluster's URL for an ``elasticsearch`` test; skips when none is configured."""
    url = _stash.get(ELASTICSEARCH_URL_VARIABLE) or os.environ.get(ELASTICSEARCH_URL_VARIABLE)
    if not url:
        pytest.skip(f"{ELASTICSEARCH_URL_VARIABLE} is not set (no Elasticsearch server here)")
    return url


@pytest.fixture(autouse=True)
def _isolated_environment(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own COURSE_TA_* variables or .env, and each gets its own data dir."""
    for name in list(os.environ):
        if name.startswith("COURSE_TA_"):
            monkeypatch.delenv(name)
    if request.node.get_closest_marker("elasticsearch") is not None and ELASTICSEARCH_URL_VARIABLE in _stash:
        monkeypatch.setenv(ELASTICSEARCH_URL_VARIABLE, _stash[ELASTICSEARCH_URL_VARIABLE])
    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def corpus() -> Path:
    """``../shared/corpus``; skips when it is not present."""
    if not (CORPUS / "hf-course" / "manifest.csv").exists():
        pytest.skip("../shared/corpus is not present")
    return CORPUS


@pytest.fixture
def seeds() -> Path:
    """``../shared/seeds``; skips when it is not present."""
    if not SEEDS.exists():
        pytest.skip("../shared/seeds is not present")
    return SEEDS
