"""Socket Mode end to end: the service connects out over a WebSocket, acks envelopes, answers in threads.

Slack is played by two local servers speaking its wire protocols: the Web API fake answers
``apps.connections.open`` (called with the app-level token) with the URL of the Socket Mode fake,
which sends ``hello`` and then pushes an ``app_mention`` envelope; the answer goes out through the
Web API fake as a native stream (``chat.startStream`` … ``chat.stopStream``). The service is what
``course-ta serve`` runs (``ServiceRunner`` in Socket Mode, Bolt's built-in Socket Mode client).
The answer is held at the model until the envelope's acknowledgement has come back, so the test
shows that the acknowledgement never waits for the answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.runtime.service_runner import ServiceRunner
from tests.bot.slack.conftest import HeldModel, answered
from tests.bot.slack.slack_constants import BOT_TOKEN, CHANNEL, STUDENT
from tests.bot.slack.slack_events import mention
from tests.fakes.slack_socket_mode import SocketModeServer
from tests.fakes.slack_web_api import SlackWire

APP_TOKEN = "xapp-1-A0COURSETA-1111-localtestonly"


@pytest.fixture
def socket_mode(wire: SlackWire) -> Iterator[SocketModeServer]:
    """The Socket Mode endpoint, handed out by the Web API fake to the app token."""
    server = SocketModeServer().start()
    wire.app_token = APP_TOKEN
    wire.socket_mode_url = server.url
    yield server
    server.stop()


def test_app_mention_envelope_is_acked_over_the_socket_and_answered_in_the_thread(
    wire: SlackWire, socket_mode: SocketModeServer, held_model: HeldModel, own_data_dir: Path
) -> None:
    settings = held_model.settings(
        data_dir=own_data_dir,
        slack_bot_token=BOT_TOKEN,
        slack_app_token=APP_TOKEN,
        slack_mode="socket",
        slack_api_url=wire.api_url,
        slack_voice_clips=False,
        health_host="127.0.0.1",
        health_port=0,
    )
    runner = ServiceRunner(settings, ["slack"])
    try:
        runner.start()
        socket_mode.wait_connected()
        (opened,) = wire.calls_to("apps.connections.open")
        assert opened.token == APP_TOKEN, "the WebSocket URL is asked for with the app-level token"
        ready, body = runner.state.readiness()
        assert ready and body["checks"]["slack"] == {"ok": True, "detail": "Socket Mode connected"}, body

        question = mention("What is contrastive learning?", CHANNEL, STUDENT, wire.team_id, wire.bot_user_id)
        envelope_id = socket_mode.send_event(question)
        # The model is held until release() below: an ack that waited for the answer would never come.
        ack = socket_mode.wait_ack(envelope_id)
        assert ack == {"envelope_id": envelope_id}, "an event's ack carries no payload"
        held_model.wait_started()
        (started,) = wire.thread(CHANNEL, question["event"]["ts"])
        assert started["stream"] == "streaming" and started["text"] == "", "the stream is open before the answer exists"

        held_model.release()
        reply = answered(wire, question)
        assert reply["ts"] == started["ts"] and reply["thread_ts"] == question["event"]["ts"]
        assert reply["text"] == held_model.text and reply["stream"] == "stopped"
        (stop,) = wire.calls_to("chat.stopStream")
        assert any(b["type"] == "context_actions" for b in stop.params["blocks"]), "closed with the feedback buttons"
        assert wire.calls_to("reactions.add")
        wire.wait_for(lambda: wire.calls_to("reactions.remove"), what="the working reaction to be taken off")
        assert {call.token for call in wire.calls if call.method != "apps.connections.open"} == {BOT_TOKEN}
    finally:
        held_model.release()
        summary = runner.shutdown()
    assert summary["clean"] is True and summary["components"] == ["slack"]
    socket_mode.wait_disconnected()
    assert socket_mode.connections == 1, "one connection for the whole run, no reconnects"
