"""Serving the console: a threaded WSGI server on the configured interface (localhost by default)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from bot.console.app import create_app
from pipelines.settings import Settings

logger = logging.getLogger(__name__)


def make_console_server(settings: Settings, host: str | None = None, port: int | None = None, **options: Any) -> BaseWSGIServer:
    """The console's server, bound (port 0 picks a free port) but not yet serving."""
    app = create_app(settings, **options)
    return make_server(host or settings.console_host, settings.console_port if port is None else port, app, threaded=True)


def console_url(server: BaseWSGIServer) -> str:
    """``http://HOST:PORT/`` of a bound server."""
    host = server.host if ":" not in server.host else f"[{server.host}]"
    return f"http://{host}:{server.server_port}/"


def start_in_background(settings: Settings) -> BaseWSGIServer | None:
    """Serve the console from a daemon thread beside the bots (``course-ta serve``); None when its port is taken."""
    try:
        server = make_console_server(settings)
    except OSError as error:
        logger.warning("instructor console not started on %s:%s: %s", settings.console_host, settings.console_port, error)
        return None
    threading.Thread(target=server.serve_forever, name="course-ta-console", daemon=True).start()
    logger.info("instructor console at %s", console_url(server))
    return server
