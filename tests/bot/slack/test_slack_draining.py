"""Shutdown through the Slack path: `course-ta serve`'s runner with the Events API, one answer in flight.

On SIGTERM the service must finish the answer a student is waiting for, post it, and tell anyone who
asks meanwhile that it is restarting; only then may it stop. Events are signed POSTs into the Bolt
app the runner serves; Slack's Web API is the local fake; the answer is held at the model (the
OpenAI wire fake) until the test releases it, so "in flight" is a state reached, not a race.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

from bot.answering.draining import RESTARTING
from bot.runtime.service_runner import ServiceRunner
from tests.bot.slack.conftest import HeldModel, answered
from tests.bot.slack.slack_constants import BOT_TOKEN, CHANNEL, SIGNING_SECRET, STUDENT, closed_port
from tests.bot.slack.slack_events import deliver, mention
from tests.fakes.slack_web_api import SlackWire


def test_sigterm_finishes_the_slack_answer_in_flight_and_refuses_new_mentions(
    wire: SlackWire, held_model: HeldModel, own_data_dir: Path
) -> None:
    port = closed_port()
    settings = held_model.settings(
        data_dir=own_data_dir,
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_mode="http",
        slack_http_host="127.0.0.1",
        slack_http_port=port,
        slack_api_url=wire.api_url,
        slack_voice_clips=False,
        health_host="127.0.0.1",
        health_port=0,
        shutdown_grace_s=120,
    )
    runner = ServiceRunner(settings, ["slack"])
    url = f"http://127.0.0.1:{port}{settings.slack_http_path}"
    results: dict[str, Any] = {}
    stopping = threading.Thread(target=lambda: results.setdefault("summary", runner.shutdown()), name="test-shutdown")
    try:
        runner.start()
        assert runner.state.readiness()[0], runner.state.readiness()[1]

        first = mention("What is contrastive learning?", CHANNEL, STUDENT, wire.team_id, wire.bot_user_id)
        assert deliver(url, json.dumps(first), SIGNING_SECRET).status == 200
        held_model.wait_started()  # the answer is being written: in flight

        stopping.start()  # what SIGTERM does (the signal handler only asks the main loop to call this)
        wire.wait_for(lambda: runner.service.draining, 30, "the service to start draining")
        assert runner.state.readiness()[1]["draining"] is True
        assert runner.service.in_flight == 1, "the Slack answer being written is tracked"

        late = mention("What is BPE?", CHANNEL, "U0STUDENT2", wire.team_id, wire.bot_user_id)
        assert deliver(url, json.dumps(late), SIGNING_SECRET).status == 200, "Slack still gets its ack while draining"
        refused = answered(wire, late)
        assert RESTARTING in refused["text"]

        assert stopping.is_alive(), "shutdown waits for the answer in flight"
        (placeholder,) = wire.thread(CHANNEL, first["event"]["ts"])
        assert placeholder["edits"] == 0, "the held answer has not been posted yet"

        held_model.release()
        stopping.join(60)
        assert not stopping.is_alive(), "shutdown returns once the answer is delivered"
        # Shutdown has returned: the answer must already be in the thread, not merely computed.
        (posted,) = wire.thread(CHANNEL, first["event"]["ts"])
        assert posted["edits"] and posted["text"] == held_model.text
        assert "Contrastive fine-tuning with triplets" in json.dumps(posted["blocks"])
        summary = results["summary"]
        assert summary["in_flight_at_signal"] == 1 and summary["answers_finished"] is True and summary["clean"] is True
        assert len(held_model.server.requests) == 1, "the refused question never reached the model"
    finally:
        held_model.release()
        if stopping.ident is None:
            runner.shutdown()
        else:
            stopping.join(60)
