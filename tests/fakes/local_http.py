"""The start/stop every thread-served local test server shares: a free 127.0.0.1 port, served while used in ``with``."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self


class LocalHTTPServer:
    """Serves ``handler`` from a daemon thread between ``__enter__`` and ``__exit__``; the port is bound at construction."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        # ThreadingHTTPServer's request threads are daemons, so closing does not wait on a client's idle keep-alive connection.
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
