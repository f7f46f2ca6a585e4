"""Fixtures for the Slack scenario tests: a real index, a real AnswerService and Piper voice, the
Bolt app served over real HTTP, and a local server playing Slack's Web API.

The sample course is indexed once per session (a few seconds); each test gets its own answer log,
rate limiter and Slack server, so no state leaks between scenarios. ``held_model`` is a scripted
chat model (the OpenAI wire fake) that keeps each answer in flight until the test releases it, so
"while an answer is being written" is a state a test reaches deterministically.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Callable, Iterator
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
from tests.bot.slack.slack_events import Delivery, deliver, mention, message
from tests.fakes.openai_chat import ChatServer, Reply
from tests.fakes.slack_web_api import SlackWire
from voice.render import VoiceRenderer

HOLD_LIMIT_S = 120.0  # a held answer the test never releases fails instead of hanging


@pytest.fixture(autouse=True)
def _no_real_slack_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's own Slack tokens never reach a test."""
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def index_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the sample course indexed (shared: tests read it, never write to it)."""
    data_dir = tmp_path_factory.mktemp("slack-index")
    report = Ingestor(load_settings(data_dir=data_dir)).ingest([SAMPLE_COURSE])
    assert len(report.outcomes) == 4, report
    return data_dir


@pytest.fixture(scope="session")
def base_settings(index_dir: Path) -> Settings:
    """Settings over the shared index, with the offline Piper voice."""
    return load_settings(data_dir=index_dir, voice_backends="piper")


@pytest.fixture(scope="session")
def service(base_settings: Settings) -> AnswerService:
    """The offline AnswerService over the shared index, warmed up once."""
    answers = AnswerService(base_settings)
    answers.warm_up()
    return answers


@pytest.fixture(scope="session")
def renderer(base_settings: Settings) -> VoiceRenderer:
    """The Piper voice renderer."""
    return VoiceRenderer(base_settings)


@pytest.fixture
def own_data_dir(index_dir: Path, tmp_path: Path) -> Path:
    """A copy of the indexed data dir for a test that runs the whole service (it writes its answer log there)."""
    data_dir = tmp_path / "service-data"
    shutil.copytree(index_dir, data_dir)
    return data_dir


@dataclass
class HeldModel:
    """A chat model that starts writing when asked and finishes only when the test calls ``release``."""

    text: str
    server: ChatServer
    started: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def respond(self, body: dict[str, Any]) -> Reply:
        """The responder the chat server calls for every completion request."""
        self.started.set()
        if not self.released.wait(HOLD_LIMIT_S):
            return Reply(status=500, error="the test never released the held answer")
        return Reply(self.text)

    def settings(self, **overrides: Any) -> Settings:
        """Settings whose answers are written by this model (no retries, a timeout longer than any hold)."""
        values: dict[str, Any] = {
            "llm_base_url": self.server.base_url,
            "llm_model": "scripted",
            "llm_timeout_s": HOLD_LIMIT_S + 30,
            "llm_max_retries": 0,
            **overrides,
        }
        return load_settings(**values)

    def wait_started(self, timeout: float = 60.0) -> None:
        """Block until an answer is being written (the model got its request); fail with a message otherwise."""
        if not self.started.wait(timeout):
            raise AssertionError(f"no answer reached the model within {timeout} s; requests so far: {len(self.server.requests)}")

    def release(self) -> None:
        """Let every held answer (and every later one) finish."""
        self.released.set()


@pytest.fixture
def held_model() -> Iterator[HeldModel]:
    """A :class:`HeldModel` that cites the first passage; released at teardown so no thread is left waiting."""
    holder: dict[str, HeldModel] = {}
    server = ChatServer(lambda body: holder["model"].respond(body)).__enter__()
    model = HeldModel("Contrastive learning pulls a question and its matching passage together [1].", server)
    holder["model"] = model
    yield model
    model.release()
    server.__exit__(None, None, None)


@pytest.fixture
def wire() -> Iterator[SlackWire]:
    """Slack's Web API, played locally for this test."""
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

    def send(self, payload: dict[str, Any], **kwargs: Any) -> Delivery:
        """POST ``payload`` signed, the way Slack delivers an event."""
        self.sent.append(payload)
        return deliver(self.url, json.dumps(payload), SIGNING_SECRET, **kwargs)

    def ask(self, text: str, channel: str = CHANNEL, user: str = STUDENT, thread_ts: str | None = None) -> dict[str, Any]:
        """A student @mentions the bot; returns the delivered payload."""
        payload = mention(text, channel, user, self.wire.team_id, self.wire.bot_user_id, thread_ts)
        delivery = self.send(payload)
        assert delivery.status == 200, delivery
        return payload

    def say(self, text: str, channel: str = CHANNEL, user: str | None = STUDENT, **kwargs: Any) -> dict[str, Any]:
        """A plain message (no mention); returns the delivered payload."""
        payload = message(text, channel, user, self.wire.team_id, self.wire.bot_user_id, **kwargs)
        delivery = self.send(payload)
        assert delivery.status == 200, delivery
        return payload

    def answered(self, question: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
        """Wait for the bot's finished reply in the question's thread (placeholder replaced)."""
        return answered(self.wire, question, timeout)

    def drain(self) -> None:
        """Wait for every lazy listener to finish (used before asserting that nothing else happened)."""
        self.bot.close(wait=True)


def finished(message: dict[str, Any]) -> bool:
    """A bot message that is done: a stopped stream, or a placeholder edited past its progress stages."""
    if "stream" in message:
        return message["stream"] == "stopped"
    shown = json.dumps(message["blocks"])
    return bool(message["edits"]) and not any(stage in shown for stage in ("Looking through", "still writing", "Queued", "next in line"))


def answered(wire: SlackWire, question: dict[str, Any], timeout: float = 60.0) -> dict[str, Any]:
    """Wait for the bot's finished reply in the thread of ``question`` (an Events API body): stream stopped or placeholder replaced."""
    event = question["event"]
    thread = event.get("thread_ts") or event["ts"]

    def done() -> dict[str, Any] | None:
        for reply in wire.thread(event["channel"], thread):
            if reply.get("user") == wire.bot_user_id and finished(reply):
                return reply
        return None

    return wire.wait_for(done, timeout, f"an answer to {event['text'][:40]!r}")


@pytest.fixture
def make_bot(
    wire: SlackWire, base_settings: Settings, service: AnswerService, renderer: VoiceRenderer, tmp_path: Path
) -> Iterator[Callable[..., RunningBot]]:
    """Start a bot (own answer log, rate limiter, HTTP endpoint) against ``wire``; all are stopped at teardown."""
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
        return _serve(bot, settings, wire, started)

    yield make
    _stop(started)


@pytest.fixture
def deployment_bot(wire: SlackWire, tmp_path: Path) -> Iterator[Callable[..., RunningBot]]:
    """``deployment_bot(data_dir, **settings)``: the whole deployment (every course in its courses.toml) behind
    its HTTP endpoint, voice off; the first bot's answer log is ``tmp_path / "log.sqlite"``; stopped at teardown."""
    started: list[tuple[RunningBot, Any]] = []

    def make(data_dir: Path, **overrides: Any) -> RunningBot:
        values = {"slack_bot_token": BOT_TOKEN, "slack_signing_secret": SIGNING_SECRET, "slack_mode": "http", "slack_voice_clips": False}
        settings = load_settings(deployment=True, data_dir=data_dir, **{**values, **overrides})
        client = WebClient(token=BOT_TOKEN, base_url=wire.api_url, timeout=10)
        bot = create_slack_bot(
            settings, client=client, log=AnswerLog(tmp_path / ("log.sqlite" if not started else f"log-{len(started)}.sqlite"))
        )
        return _serve(bot, settings, wire, started)

    yield make
    _stop(started)


def _serve(bot: SlackBot, settings: Settings, wire: SlackWire, started: list[tuple[RunningBot, Any]]) -> RunningBot:
    """Serve ``bot`` over HTTP on a free port and remember it for :func:`_stop`."""
    server = make_http_server(bot, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    running = RunningBot(bot, wire, f"http://127.0.0.1:{server.server_port}{settings.slack_http_path}")
    started.append((running, server))
    return running


def _stop(started: list[tuple[RunningBot, Any]]) -> None:
    for running, server in started:
        server.shutdown()
        server.server_close()
        running.bot.close(wait=True)
