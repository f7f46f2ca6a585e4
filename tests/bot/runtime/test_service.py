"""`course-ta serve`: health endpoint, readiness, in-flight answers on shutdown, SIGTERM in a real process."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.answering.draining import RESTARTING, DrainingAnswerService
from bot.answering.service import QuestionError
from bot.runtime.health import HealthServer, HealthState
from bot.runtime.service_runner import available_components, choose_components
from pipelines.settings import load_settings
from tests.fakes.openai_chat import ChatServer, Reply

REPO = Path(__file__).resolve().parents[3]
HOLD_LIMIT_S = 120.0


def _eventually(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Wait for ``predicate`` with a deadline; fail naming what never happened."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def test_health_endpoint_reports_each_check_and_dead_components() -> None:
    state = HealthState()
    server = HealthServer(state, "127.0.0.1", 0)
    server.start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert _get(base + "/readyz")[0] == 503  # nothing registered yet: not ready
        connected = {"slack": False}
        state.add_check("store", lambda: (True, "embedded: 12 documents"))
        state.add_check("slack", lambda: (connected["slack"], "Socket Mode not connected"))
        state.add_check("boom", lambda: 1 / 0)
        status, body = _get(base + "/readyz")
        assert status == 503
        assert body["checks"]["store"] == {"ok": True, "detail": "embedded: 12 documents"}
        assert body["checks"]["slack"]["ok"] is False
        assert body["checks"]["boom"] == {"ok": False, "detail": "ZeroDivisionError: division by zero"}
        state.add_check("boom", lambda: (True, "fine"))
        connected["slack"] = True
        assert _get(base + "/readyz") == (
            200,
            {
                "ready": True,
                "draining": False,
                "checks": {
                    "store": {"ok": True, "detail": "embedded: 12 documents"},
                    "slack": {"ok": True, "detail": "Socket Mode not connected"},
                    "boom": {"ok": True, "detail": "fine"},
                },
            },
        )
        state.draining = True
        assert _get(base + "/readyz")[0] == 503
        assert _get(base + "/livez")[0] == 200
        state.mark_dead("discord", "LoginFailure: bad token")
        status, body = _get(base + "/livez")
        assert status == 503 and body["dead"] == {"discord": "LoginFailure: bad token"}
        assert _get(base + "/nope")[0] == 404
    finally:
        server.stop()


def test_components_follow_the_credentials_that_are_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert choose_components(load_settings(), "all") == ["scheduler"]
    monkeypatch.setenv("DISCORD_TOKEN", "MTIzNDU2Nzg5MDEyMzQ1Njc4.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1-2-abc")  # socket mode without the app token: skipped, says why
    settings = load_settings()
    assert choose_components(settings, "all") == ["scheduler", "discord"]
    assert available_components(settings)["slack"] == "skipped: Socket Mode needs SLACK_APP_TOKEN"
    assert choose_components(settings, "scheduler") == ["scheduler"]
    with pytest.raises(ValueError, match="unknown component"):
        choose_components(settings, "teams")


def test_draining_finishes_the_answer_in_flight_and_refuses_new_ones(sample_data_dir: Path) -> None:
    started, released = threading.Event(), threading.Event()
    text = "Turn it on so Whisper skips the silences instead of inventing words for them [1]."

    def model(body: dict[str, Any]) -> Reply:
        # The answer stays in flight, deterministically, until the test releases it.
        started.set()
        return Reply(text) if released.wait(HOLD_LIMIT_S) else Reply(status=500, error="never released")

    with ChatServer(model) as chat:
        settings = load_settings(
            data_dir=sample_data_dir, llm_base_url=chat.base_url, llm_model="scripted", llm_timeout_s=HOLD_LIMIT_S + 30, llm_max_retries=0
        )
        service = DrainingAnswerService(settings)
        results: dict[str, Any] = {}
        deltas: list[str] = []
        question = "Why should I turn on voice activity detection with Whisper?"
        # answer_stream is what Slack calls; answer (Discord, CLI) is refused below: both are tracked.
        answering = threading.Thread(target=lambda: results.setdefault("answer", service.answer_stream(question, on_text=deltas.append)))
        draining = threading.Thread(target=lambda: results.setdefault("drained", service.drain(timeout=HOLD_LIMIT_S)))
        try:
            answering.start()
            assert started.wait(60), "the answer never reached the model"
            assert service.in_flight == 1
            draining.start()
            _eventually(lambda: service.draining, "drain() to start refusing questions")
            for ask in (service.answer, service.answer_stream):
                with pytest.raises(QuestionError, match="restarting") as refused:
                    ask("What is BPE?")
                assert str(refused.value) == RESTARTING
            assert draining.is_alive() and "drained" not in results, "drain waits for the answer in flight"
        finally:
            released.set()
            for thread in (answering, draining):
                if thread.ident is not None:
                    thread.join(60)
        assert not answering.is_alive() and not draining.is_alive()
        assert results["drained"] is True and service.in_flight == 0 and service.answered == 1
        answer = results["answer"]
        assert answer.text == text and "".join(deltas).strip() == text
        assert answer.grounded and answer.answerer == "llm:scripted" and answer.citations[0].video_id == "ct-whisper-301"
        assert len(chat.requests) == 1, "refused questions never reach the model"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_becomes_ready_and_exits_cleanly_on_sigterm(sample_data_dir: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_TA_", "SLACK_", "DISCORD_"))}
    env.update(
        COURSE_TA_DATA_DIR=str(sample_data_dir),
        COURSE_TA_HEALTH_HOST="127.0.0.1",
        COURSE_TA_HEALTH_PORT=str(port),
        COURSE_TA_LOG_FORMAT="json",
        PYTHONPATH=str(REPO),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli.main", "serve"],
        cwd=sample_data_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        body: dict = {}
        while time.monotonic() < deadline and process.poll() is None:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/readyz")
                if status == 200:
                    break
            except OSError:
                pass
            time.sleep(0.2)
        assert body.get("ready") is True, (body, process.poll())
        assert body["checks"]["store"]["detail"].startswith("embedded: ") and body["checks"]["scheduler"]["ok"]
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr[-2000:]
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    events = [r.get("event") for r in records]
    assert {"component_skipped", "started", "shutdown_requested", "shutdown"} <= set(events)
    assert events.index("shutdown_requested") < events.index("shutdown")
    final = next(r for r in records if r.get("event") == "shutdown")
    assert final["signal"] == "SIGTERM" and final["clean"] is True and final["components"] == ["scheduler"]
    assert final["level"] == "INFO" and final["logger"] == "course_ta.service" and "ts" in final
