"""Run the Bolt app: Socket Mode (default, no public URL) or the HTTP Events API.

HTTP mode serves Bolt's WSGI adapter (``slack_bolt.adapter.wsgi.SlackRequestHandler``) with the
standard library's threaded WSGI server, so concurrent events are acknowledged in parallel and
``X-Slack-Signature`` is checked by Bolt on every request. Behind gunicorn/uwsgi, point the server
at ``wsgi_app(create_slack_bot(...))`` instead; the app object is the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack.app import SlackBot

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

logger = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """One thread per connection: a slow client never delays another event's acknowledgement."""

    daemon_threads = True
    request_queue_size = 128


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)


def wsgi_app(bot: SlackBot, path: str | None = None) -> WsgiApp:
    """The Events API endpoint as a WSGI application (404 elsewhere, like Bolt's own server)."""
    endpoint = path or bot.settings.slack_http_path
    handler = SlackRequestHandler(bot.app, path=endpoint)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") != endpoint:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        return handler(environ, start_response)

    return application


def make_http_server(bot: SlackBot, host: str | None = None, port: int | None = None) -> ThreadingWSGIServer:
    """Bound and ready; call ``serve_forever()`` (port 0 picks a free port: ``server.server_port``)."""
    settings = bot.settings
    return make_server(
        host if host is not None else settings.slack_http_host,
        settings.slack_http_port if port is None else port,
        wsgi_app(bot),
        server_class=ThreadingWSGIServer,
        handler_class=_QuietHandler,
    )


def serve_http(bot: SlackBot) -> None:
    """Serve the Events API until interrupted (``course-ta serve slack --mode http``)."""
    server = make_http_server(bot)
    logger.warning("Slack Events API listening on http://%s:%s%s", server.server_name, server.server_port, bot.settings.slack_http_path)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()


def socket_mode_handler(bot: SlackBot) -> SocketModeHandler:
    """Bolt's Socket Mode handler for ``bot`` (SLACK_APP_TOKEN), not yet connected: ``connect()`` then ``close()``.

    ``apps.connections.open``, which hands out the WebSocket URL, is called on the same Web API base URL
    as every other method (``COURSE_TA_SLACK_API_URL``).
    """
    from slack_bolt.adapter.socket_mode import SocketModeHandler
    from slack_sdk import WebClient

    assert bot.settings.slack_app_token is not None
    app_token = bot.settings.slack_app_token.get_secret_value()
    web_client = WebClient(token=app_token, base_url=bot.app.client.base_url, timeout=30)
    return SocketModeHandler(bot.app, app_token=app_token, web_client=web_client)


def serve_socket_mode(bot: SlackBot) -> None:
    """Connect out to Slack over a WebSocket (SLACK_APP_TOKEN); blocks until interrupted."""
    logger.warning("Slack Socket Mode connecting")
    socket_mode_handler(bot).start()
