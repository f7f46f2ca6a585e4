"""Fixtures: a seeded data dir (answer log + the indexed sample course), the console app, and a real server on a free port."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from slack_sdk import WebClient

from bot.console.app import create_app
from bot.console.relay import SlackRelay
from bot.console.server import make_console_server
from pipelines.settings import Settings, load_settings
from tests.bot.console.console_seed import ADMIN, PASSWORD, seed
from tests.fakes.slack_web_api import SlackWire

BOT_TOKEN = "xoxb-1111-2222-localtestonly"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def seeded(sample_data_dir: Path) -> tuple[Settings, dict[str, str]]:
    """Settings over a data dir with the sample course indexed and the answer log seeded."""
    ids = seed(sample_data_dir)
    return load_settings(data_dir=sample_data_dir), ids


@pytest.fixture
def wire() -> Iterator[SlackWire]:
    server = SlackWire(BOT_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def make_app(seeded: tuple[Settings, dict[str, str]], wire: SlackWire) -> Callable[..., Flask]:
    """The console app with one instructor account and a Slack relay to the local Web API server."""

    def make(settings: Settings | None = None, **options: Any) -> Flask:
        settings = settings or seeded[0]
        relays = {"slack": SlackRelay(WebClient(token=BOT_TOKEN, base_url=wire.api_url, timeout=10))}
        app = create_app(settings, relays=options.pop("relays", relays), **options)
        app.extensions["course_ta_console"].accounts.add(ADMIN, PASSWORD)
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    found = CSRF.search(page)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def log_in(client: FlaskClient, username: str = ADMIN, password: str = PASSWORD, **request: Any) -> Any:
    """Post the login form; ``request`` (headers, environ_base) goes to both the form's GET and the POST."""
    page = client.get("/login", **request).get_data(as_text=True)
    found = CSRF.search(page)
    assert found, "no CSRF token on /login"
    return client.post("/login", data={"username": username, "password": password, "csrf_token": found.group(1)}, **request)


@dataclass
class RunningConsole:
    url: str
    app: Flask


@pytest.fixture
def running_console(make_app: Callable[..., Flask], seeded: tuple[Settings, dict[str, str]]) -> Iterator[RunningConsole]:
    """The console served over real HTTP on a free local port, in this process."""
    settings, _ = seeded
    server = make_console_server(settings, "127.0.0.1", 0)
    app = make_app()
    server.app = app
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield RunningConsole(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    server.server_close()
