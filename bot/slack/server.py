"""Run the Bolt app: Socket Mode (default, no public URL) or the HTTP Events API.

HTTP mode serves Bolt's WSGI adapter (``slack_bolt.adapter.wsgi.SlackRequestHandler``) with the
standard library's threaded WSGI server, so concurrent events are acknowledged in parallel. The
endpoint is public, so before Bolt sees a request it is held to Slack's own rules, cheapest first:
a body over :data:`MAX_BODY_BYTES` is refused (413) without being read, and the signature
(``X-Slack-Signature`` over ``v0:{timestamp}:{body}``, timestamp within five minutes) is verified
on the raw bytes before anything parses them: a missing, non-numeric, stale or wrong one is 401.
A signed body Bolt still cannot parse is 400 with a log line, never a 500 with a traceback.
Behind gunicorn/uwsgi, point the server at ``wsgi_app(create_slack_bot(...))`` instead; the app
object is the same.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.slack.app import SlackBot

if TYPE_CHECKING:
    from slack_bolt.adapter.socket_mode import SocketModeHandler

logger = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Slack's event payloads are a few KiB (a message is at most 40,000 characters, ~160 KiB as escaped JSON);
# anything bigger is not Slack, and is refused before a byte of it is read.
MAX_BODY_BYTES = 1024 * 1024
# Slack's recipe: requests signed more than five minutes ago are replays.
MAX_SIGNATURE_AGE_S = 5 * 60


def signature_problem(secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float | None = None) -> str | None:
    """Why the request is not signed by Slack with ``secret`` (``None`` when it is); never raises.

    Computed on the raw bytes, so a body that is not even UTF-8 is simply unsigned, not an error.
    """
    if not secret:
        return "no signing secret is configured"
    if not timestamp or not signature:
        return "missing X-Slack-Request-Timestamp or X-Slack-Signature"
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return "the timestamp is not a number"
    if abs((time.time() if now is None else now) - int(timestamp)) > MAX_SIGNATURE_AGE_S:
        return "the timestamp is older than five minutes (or in the future)"
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return "the signature does not match"
    return None


def shape_problem(content_type: str, body: bytes) -> str | None:
    """Why a signed body is not shaped like anything Slack sends (``None`` when it is); never raises.

    Bolt assumes the shape (a JSON object whose ``event`` is an object, or a form whose ``payload`` is a
    JSON object) and answers 500 with a traceback when it is wrong; this answers 400 instead.
    """
    try:
        text = body.decode("utf-8")
        if content_type.split(";", 1)[0].strip().lower() == "application/x-www-form-urlencoded":
            form = parse_qs(text)
            if "payload" not in form:
                return None  # slash commands and the like: flat fields, nothing nested to go wrong
            data = json.loads(form["payload"][0])
        else:
            data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        return f"not parseable ({type(error).__name__})"
    if not isinstance(data, dict):
        return "not a JSON object"
    if not isinstance(data.get("event", {}), dict):
        return "its event is not an object"
    return None


def _respond(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    body = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


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
    secret = bot.settings.slack_signing_secret.get_secret_value() if bot.settings.slack_signing_secret else ""

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "") != endpoint:
            return _respond(start_response, "404 Not Found", "not found")
        if environ.get("REQUEST_METHOD", "GET") != "POST":
            return _respond(start_response, "405 Method Not Allowed", "POST only")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _respond(start_response, "400 Bad Request", "bad Content-Length")
        if length < 0:
            return _respond(start_response, "400 Bad Request", "bad Content-Length")
        if length > MAX_BODY_BYTES:
            logger.warning("refused a %d-byte request to %s (limit %d)", length, endpoint, MAX_BODY_BYTES)
            return _respond(start_response, "413 Content Too Large", "request body too large")
        body = environ["wsgi.input"].read(length) if length else b""
        problem = signature_problem(secret, body, environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP"), environ.get("HTTP_X_SLACK_SIGNATURE"))
        if problem:
            logger.info("refused an unsigned request to %s: %s", endpoint, problem)
            return _respond(start_response, "401 Unauthorized", "invalid request signature")
        malformed = shape_problem(environ.get("CONTENT_TYPE", ""), body)
        if malformed:
            logger.warning("refused a signed but malformed request to %s: %s", endpoint, malformed)
            return _respond(start_response, "400 Bad Request", "malformed request")
        environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads the body again (and checks the signature again)
        try:
            return handler(environ, start_response)
        except Exception as error:  # a signed body Bolt cannot parse: Slack's fault or ours, never a 500 traceback
            logger.warning("could not handle a signed request to %s: %s: %s", endpoint, type(error).__name__, error)
            return _respond(start_response, "400 Bad Request", "malformed request")

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
