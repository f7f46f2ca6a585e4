"""The health endpoint when probes hang up or stall: no traceback in the service's log, and it keeps answering."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import urllib.request

import pytest

from bot.runtime.health import HealthServer, HealthState


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (SO_LINGER 0), as a killed probe or a load balancer's timeout does."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_clients_that_hang_up_leave_no_traceback_and_the_server_keeps_answering(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    state = HealthState()
    gone = threading.Event()
    answered = threading.Event()

    def slow_check() -> tuple[bool, str]:
        # The check finishes only after the client reset the connection, so the reply is written to a dead socket.
        if not answered.is_set():
            gone.wait(30)
        return True, "ok"

    state.add_check("store", slow_check)
    server = HealthServer(state, "127.0.0.1", 0)
    server.start()
    caplog.set_level(logging.DEBUG, logger="bot.runtime.health")
    try:
        for _ in range(3):
            gone.clear()
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            _reset(sock)
            gone.set()
        # A client that resets before sending a whole request line.
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
        sock.sendall(b"GET /liv")
        _reset(sock)
        answered.set()
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/readyz", timeout=10) as response:
            assert response.status == 200 and json.load(response)["ready"] is True
    finally:
        server.stop()
    err = capfd.readouterr().err
    assert "Traceback" not in err and "BrokenPipe" not in err and "ConnectionReset" not in err
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info] == []
    assert any("went away" in r.getMessage() for r in caplog.records)  # noticed, quietly
