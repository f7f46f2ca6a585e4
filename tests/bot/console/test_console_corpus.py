"""The corpus page reads the ledger: stages, a failure with its reason, and a retry that runs the real sync engine."""

from __future__ import annotations

import time

from bot.cli.demo import SAMPLE_COURSE
from bot.console.app import create_app
from pipelines.freshness.ingest import Ingestor
from pipelines.freshness.ledger import Ledger
from pipelines.settings import load_settings
from tests.bot.console.conftest import csrf_token, log_in
from tests.bot.console.console_seed import ADMIN, PASSWORD


def test_failure_is_listed_and_retry_runs_the_engine(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    Ingestor(settings).ingest([SAMPLE_COURSE])
    ledger = Ledger(settings.ledger_path)
    ledger.fail("ct-voice-401", "indexed", "the store was busy (disk full)", False, None)
    ledger.close()

    app = create_app(settings, relays={})
    app.extensions["course_ta_console"].accounts.add(ADMIN, PASSWORD)
    client = app.test_client()
    log_in(client)
    page = client.get("/corpus").get_data(as_text=True)
    assert "the store was busy (disk full)" in page and "not retried until the video changes" in page
    assert "Retrieval-augmented generation, step by step" in page and "Last sync" in page
    assert "<svg" in client.get("/charts/corpus.svg").get_data(as_text=True)

    token = csrf_token(client, "/corpus")
    assert client.post("/corpus/nope/retry", data={"csrf_token": token}).status_code == 404
    response = client.post("/corpus/ct-voice-401/retry", data={"csrf_token": token}, follow_redirects=True)
    assert "Retrying ct-voice-401" in response.get_data(as_text=True)
    retrier = app.extensions["course_ta_console"].retrier
    deadline = time.monotonic() + 300
    while retrier.busy and time.monotonic() < deadline:
        time.sleep(0.1)
    assert retrier.outcomes["ct-voice-401"] in ("indexed", "unchanged")
    ledger = Ledger(settings.ledger_path)
    try:
        assert ledger.failures() == [] and ledger.stage("ct-voice-401", "indexed").status == "done"
    finally:
        ledger.close()
    assert "the store was busy" not in client.get("/corpus").get_data(as_text=True)
