"""A local server that plays Slack's Socket Mode WebSocket endpoint for the real ``SocketModeClient``.

Socket Mode as Slack runs it, after slack_sdk's own mock server (tests/slack_sdk/socket_mode/
mock_socket_mode_server.py): the client calls ``apps.connections.open`` with its app-level token (the
Web API fake, :class:`tests.fakes.slack_web_api.SlackWire`, answers it with :attr:`url`), opens a
WebSocket there and gets a ``hello``. Slack then pushes each event as an envelope
(``{"envelope_id", "type": "events_api", "payload": <the Events API body>, ...}``) and the app must send
``{"envelope_id": ...}`` back on the same socket within three seconds, or Slack redelivers. This
server pushes the envelopes a test gives it and records every message the client sends, so a test
can wait for the acknowledgement of one envelope.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

APP_ID = "A0COURSETA"


class SocketModeServer:
    """WebSocket side of Socket Mode on 127.0.0.1 (a random port): ``start`` → ``send_event`` → ``wait_ack``."""

    def __init__(self, app_id: str = APP_ID) -> None:
        self.app_id = app_id
        self.received: list[dict[str, Any]] = []  # every message the client sent, in order
        self.connections = 0
        self._changed = threading.Condition()
        self._connection: ServerConnection | None = None
        self._server: Server | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> SocketModeServer:
        """Listen in a background thread; returns self."""
        self._server = serve(self._session, "127.0.0.1", 0, compression=None, ping_interval=None)
        threading.Thread(target=self._server.serve_forever, name="socket-mode-fake", daemon=True).start()
        return self

    def stop(self) -> None:
        """Close the client's socket and stop listening."""
        if self._connection is not None:
            self._connection.close()
        if self._server is not None:
            self._server.shutdown()

    @property
    def url(self) -> str:
        """What ``apps.connections.open`` hands out: ``ws://`` with a ticket, like Slack's ``wss://`` URL."""
        assert self._server is not None
        port = self._server.socket.getsockname()[1]
        return f"ws://127.0.0.1:{port}/link/?ticket={uuid.uuid4()}&app_id={self.app_id}"

    # -- what a test does --------------------------------------------------------------------------
    def wait_connected(self, timeout: float = 30.0) -> None:
        """Block until a client has connected and got its ``hello``; fail with a message otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._connection is not None, timeout=timeout):
                raise AssertionError(f"no Socket Mode client connected within {timeout} s")

    def wait_disconnected(self, timeout: float = 30.0) -> None:
        """Block until the client has closed its socket; fail with a message otherwise."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._connection is None, timeout=timeout):
                raise AssertionError(f"the Socket Mode client was still connected after {timeout} s")

    def send_event(self, body: dict[str, Any], retry_attempt: int = 0) -> str:
        """Push an Events API body (an ``event_callback``) as an ``events_api`` envelope; returns its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "payload": body,
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_attempt,
            "retry_reason": "timeout" if retry_attempt else "",
        }
        self._send(envelope)
        return envelope_id

    def wait_ack(self, envelope_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The client's acknowledgement of ``envelope_id``; fail with what it did send when none comes."""
        with self._changed:
            found = self._changed.wait_for(lambda: self._ack(envelope_id), timeout=timeout)
            if not found:
                raise AssertionError(f"envelope {envelope_id} was not acknowledged within {timeout} s; got {self.received}")
            return found

    # -- the socket --------------------------------------------------------------------------------
    def _ack(self, envelope_id: str) -> dict[str, Any] | None:
        return next((message for message in self.received if message.get("envelope_id") == envelope_id), None)

    def _send(self, message: dict[str, Any]) -> None:
        connection = self._connection
        if connection is None:
            raise AssertionError("no Socket Mode client is connected")
        connection.send(json.dumps(message))

    def _session(self, connection: ServerConnection) -> None:
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {"host": "applink-local-test", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }
        connection.send(json.dumps(hello))
        with self._changed:
            self._connection = connection
            self.connections += 1
            self._changed.notify_all()
        try:
            for raw in connection:
                message = json.loads(raw)
                with self._changed:
                    self.received.append(message)
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                if self._connection is connection:
                    self._connection = None
                self._changed.notify_all()
