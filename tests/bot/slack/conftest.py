"""Fixtures for the Slack scenario tests: a real index, a real AnswerService and Piper voice, the
Bolt app served over real HTTP, and a local server playing Slack's Web API.

The sample course is indexed once per session (a few seconds); each test gets its own answer log,
rate limiter and Slack server, so no state leaks between scenarios.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from bot.answering.feedback import AnswerLog
from bot.answering.service import AnswerService
from bot.slack.app import SlackBot, create_slack_bot
from bot.slack.server import make_http_server
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import Settings, load_settings
from tests.bot.slack.slack_constants import BOT_TOKEN, CHANNEL, SAMPLE_COURSE, SIGNING_SECRET, STUDENT, closed_port  # noqa: F401
from tests.bot.slack.slack_events import deliver, mention, message
from tests.fakes.slack_web_api import SlackWire
from voice.render import VoiceRenderer


@pytest.fixture(autouse=True)
def _no_real_slack_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("slack-index")
    report = Ingestor(load_settings(data_dir=data_dir)).ingest([SAMPLE_COURSE])
    assert len(report.outcomes) == 4, report
    return data_dir


@pytest.fixture(scope="session")
def base_settings(index_dir: Path) -> Settings:
    return load_settings(data_dir=index_dir, voice_backends="piper")


@pytest.fixture(scope="session")
def service(base_settings: Settings) -> AnswerService:
    answers = AnswerService(base_settings)
    answers.warm_up()
    return answers


@pytest.fixture(scope="session")
def renderer(base_settings: Settings) -> VoiceRenderer:
    return VoiceRenderer(base_settings)


@pytest.fixture
def wire() -> Iterator[SlackWire]:
    server = SlackWire(BOT_TOKEN).start()
    yield server
    server.stop()


@dataclass
class RunningBot:
    """The app behind its HTTP endpoint, plus helpers that speak as Slack and as a student."""

    bot: SlackBot
    wire: SlackWire
    url: str
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, payload: dict[str, Any], **kwargs: Any):
        self.sent.append(payload)
        return deliver(self.url, json.dumps(payload), SIGNING_SECRET, **kwargs)

    def ask(self, text: str, channel: str = CHANNEL, user: str = STUDENT, thread_ts: str | None = None) -> dict[str, Any]:
        payload = mention(text, channel, user, self.wire.team_id, self.wire.bot_user_id, thread_ts)
        delivery = self.send(payload)
        assert delivery.status == 200, delivery
        return payload

    def say(self, text: str, channel: str = CHANNEL, user: str | None = STUDENT, **kwargs: Any) -> dict[str, Any]:
        payload = message(text, channel, user, self.wire.team_id, self.wire.bot_user_id, **kwargs)
        delivery = self.send(payload)
        assert delivery.status == 200, delivery
        return payload

    def answered(self, question: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Wait for the bot's finished reply in the question's thread (placeholder replaced)."""
        event = question["event"]
        thread = event.get("thread_ts") or event["ts"]

        def finished() -> dict[str, Any] | None:
            for reply in self.wire.thread(event["channel"], thread):
                shown = json.dumps(reply["blocks"])
                if reply["edits"] and "Looking through" not in shown and "still writing" not in shown:
                    return reply
            return None

        return self.wire.wait_for(finished, timeout, f"an answer to {event['text'][:40]!r}")

    def drain(self) -> None:
        """Wait for every lazy listener to finish (used before asserting that nothing else happened)."""
        self.bot.close(wait=True)


@pytest.fixture
def make_bot(wire: SlackWire, base_settings: Settings, service: AnswerService, renderer: VoiceRenderer, tmp_path: Path):
    started: list[tuple[RunningBot, Any]] = []

    def make(answers: AnswerService | None = None, voice: VoiceRenderer | None = None, **overrides: Any) -> RunningBot:
        values = {
            "data_dir": base_settings.data_dir,
            "voice_backends": "piper",
            "slack_bot_token": BOT_TOKEN,
            "slack_signing_secret": SIGNING_SECRET,
            "slack_mode": "http",
            **overrides,
        }
        settings = load_settings(**values)
        client = WebClient(token=BOT_TOKEN, base_url=wire.api_url, timeout=10)
        bot = create_slack_bot(
            settings,
            answers or service,
            client=client,
            renderer=voice or renderer,
            log=AnswerLog(tmp_path / f"slack-{len(started)}" / "feedback.sqlite"),
        )
        server = make_http_server(bot, "127.0.0.1", 0)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        running = RunningBot(bot, wire, f"http://127.0.0.1:{server.server_port}{settings.slack_http_path}")
        started.append((running, server))
        return running

    yield make
    for running, server in started:
        server.shutdown()
        server.server_close()
        running.bot.close(wait=True)


os.environ.setdefault("HF_HUB_OFFLINE", "1")
