"""Values the Slack scenario tests share. A module of its own, because several test folders have a
``conftest.py`` and ``from conftest import ...`` finds whichever one was imported last."""

from __future__ import annotations

import socket
from pathlib import Path

import pipelines

BOT_TOKEN = "xoxb-1111-2222-localtestonly"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
STUDENT = "U0STUDENT1"
CHANNEL = "C0COURSE01"
SAMPLE_COURSE = Path(pipelines.__file__).parent / "sample_course"


def closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
