"""One health endpoint for the whole service: ``GET /livez`` and ``GET /readyz``.

- liveness: the process is serving and none of its component threads died unexpectedly (when one
  did, 503 tells the orchestrator to restart the container instead of leaving a half-bot running);
- readiness: every registered check passes right now (store reachable, models loaded, scheduler
  running, each bot connected) and the service is not draining for shutdown. Load balancers and
  ``docker compose`` health checks read it; the body says which check failed and why.

Standard library only (``ThreadingHTTPServer``), so it answers even while the event loops of the
bots are busy. Probes hang up whenever they like (a timed-out ``curl``, a load balancer closing its
connection): a client that disconnects is a debug line, never a traceback in the service's log, and a
client that sends nothing is dropped after :data:`REQUEST_TIMEOUT_S`.
"""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

logger = logging.getLogger(__name__)

# A check returns (ok, detail); it must be quick and must not raise (exceptions count as failure).
Check = Callable[[], tuple[bool, str]]

# A probe that connects and sends nothing holds a thread; this is how long it may.
REQUEST_TIMEOUT_S = 10.0
# What a client hanging up looks like from the server side: reset, broken pipe, aborted, timed out.
_DISCONNECTS = (ConnectionError, TimeoutError, socket.timeout)


class HealthState:
    """What /livez and /readyz report; components register checks as they start."""

    def __init__(self) -> None:
        self._checks: dict[str, Check] = {}
        self._lock = threading.Lock()
        self.started_at = time.monotonic()
        self.draining = False
        self.dead: dict[str, str] = {}

    def add_check(self, name: str, check: Check) -> None:
        """Register (or replace) the readiness check ``name``."""
        with self._lock:
            self._checks[name] = check

    def mark_dead(self, component: str, reason: str) -> None:
        """A component stopped without being asked to: liveness fails from now on, naming it."""
        with self._lock:
            self.dead[component] = reason

    def liveness(self) -> tuple[bool, dict[str, Any]]:
        """(alive, body for /livez): alive while no component has died."""
        with self._lock:
            dead = dict(self.dead)
        return not dead, {"alive": not dead, "dead": dead, "uptime_s": round(time.monotonic() - self.started_at, 1)}

    def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, body for /readyz): every check passes now, at least one is registered, not draining, nothing dead."""
        with self._lock:
            checks = dict(self._checks)
        results: dict[str, dict[str, Any]] = {}
        for name, check in checks.items():
            try:
                ok, detail = check()
            except Exception as error:  # a check that raises is a failed check, with its reason
                ok, detail = False, f"{type(error).__name__}: {error}"
            results[name] = {"ok": bool(ok), "detail": detail}
        ready = bool(checks) and all(r["ok"] for r in results.values()) and not self.draining and not self.dead
        return ready, {"ready": ready, "draining": self.draining, "checks": results}


class _Handler(BaseHTTPRequestHandler):
    state: HealthState  # set on the per-server subclass
    timeout = REQUEST_TIMEOUT_S

    def handle(self) -> None:
        try:
            super().handle()
        except _DISCONNECTS as error:
            self.close_connection = True
            logger.debug("health client %s went away: %s", self.client_address[0], type(error).__name__)

    def finish(self) -> None:
        try:
            super().finish()  # flushes what is left to a client that may already be gone
        except _DISCONNECTS:
            pass

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path in ("/livez", "/healthz"):
            ok, body = self.state.liveness()
        elif path == "/readyz":
            ok, body = self.state.readiness()
        else:
            self._send(404, {"error": "not found", "endpoints": ["/livez", "/readyz"]})
            return
        self._send(200 if ok else 503, body)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)


class _HealthHTTPServer(ThreadingHTTPServer):
    """Errors go to the logger (one line, no stack for a client that hung up), never raw to stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, _DISCONNECTS):
            logger.debug("health client %s went away: %s", client_address[0], type(error).__name__)
        else:
            logger.warning("health request from %s failed", client_address[0], exc_info=True)


class HealthServer:
    """Serves ``state`` on host:port in a daemon thread (port 0: a free port, see ``port``)."""

    def __init__(self, state: HealthState, host: str, port: int) -> None:
        handler = type("HealthHandler", (_Handler,), {"state": state})
        self.server = _HealthHTTPServer((host, port), handler)
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, name="health", daemon=True)

    @property
    def port(self) -> int:
        """The port actually bound (useful when 0 was asked for)."""
        return int(self.server.server_address[1])

    def start(self) -> None:
        """Start answering in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.server.shutdown()
        self.server.server_close()
