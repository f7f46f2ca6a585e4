"""The public Events API endpoint against requests Slack never sends: unsigned, badly signed, oversized,
malformed. Each gets its 4xx at once, before anything parses the body, and nothing reaches the log as a
traceback; a properly signed event still gets through."""

from __future__ import annotations

import json
import logging
import socket
import time

import pytest

from tests.bot.slack.slack_constants import SIGNING_SECRET
from tests.bot.slack.slack_events import deliver, sign


def _raw_post(url: str, headers: dict[str, str], body: bytes, claimed_length: int | None = None) -> tuple[int, bytes]:
    """POST over a bare socket, so the Content-Length can claim more than is sent; returns (status, body)."""
    rest = url.split("://", 1)[1]
    hostport, path = rest.split("/", 1)
    host, port = hostport.split(":")
    lines = [f"POST /{path} HTTP/1.1", f"Host: {hostport}", f"Content-Length: {len(body) if claimed_length is None else claimed_length}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head, _, payload = received.partition(b"\r\n\r\n")
    return int(head.split()[1]), payload


@pytest.fixture
def endpoint(make_bot, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture):
    bot = make_bot(slack_voice_clips=False)
    yield bot
    assert "Traceback" not in capfd.readouterr().err  # the server printed no stack for any of it
    assert [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR] == []  # nor logged one


def test_unsigned_or_badly_signed_requests_get_401_before_parsing(endpoint) -> None:
    malformed = "{not json at all"
    assert deliver(endpoint.url, malformed, SIGNING_SECRET, signature={"X-Other": "1"}).status == 401  # no signature headers
    assert deliver(endpoint.url, malformed, "the-wrong-secret").status == 401
    stale = sign(SIGNING_SECRET, malformed, int(time.time()) - 6 * 60)
    assert deliver(endpoint.url, malformed, SIGNING_SECRET, signature=stale).status == 401
    for stamp in ("soon", "", "1e9", "-5", " 12", "9" * 40):
        headers = {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": "v0=" + "0" * 64}
        assert deliver(endpoint.url, malformed, SIGNING_SECRET, signature=headers).status == 401, stamp
    # Non-ASCII header values (a client library would refuse to send them; a raw socket does not).
    for headers in (
        {"X-Slack-Request-Timestamp": "\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660", "X-Slack-Signature": "v0=00"},
        {**sign(SIGNING_SECRET, malformed), "X-Slack-Signature": "v0=\u00e9\u00e9"},
    ):
        assert _raw_post(endpoint.url, headers, malformed.encode())[0] == 401
    # Bytes that are not UTF-8 are simply unsigned, not a decoding error.
    status, _ = _raw_post(endpoint.url, {**sign(SIGNING_SECRET, "x"), "Content-Type": "application/json"}, b"\xff\xfe{")
    assert status == 401
    assert [c.method for c in endpoint.wire.calls if c.method != "auth.test"] == []  # nothing reached a listener


def test_an_oversized_body_is_refused_without_being_read(endpoint) -> None:
    # The header claims 200 MB and only 64 KiB follow: a server that tried to read it all would wait on the socket until the client gave up.
    status, body = _raw_post(endpoint.url, {"Content-Type": "application/json"}, b"x" * 65536, claimed_length=200 * 1024 * 1024)
    assert status == 413 and b"too large" in body
    status, _ = _raw_post(
        endpoint.url, {"Content-Type": "application/json", **sign(SIGNING_SECRET, "")}, b"", claimed_length=1024 * 1024 + 1
    )  # the 1 MiB limit
    assert status == 413
    status, _ = _raw_post(endpoint.url, {"Content-Type": "application/json"}, b"{}", claimed_length=-1)
    assert status == 400


def test_a_signed_body_that_cannot_be_parsed_is_400_not_500(endpoint) -> None:
    for body in ("{not json at all", "[1, 2]", '{"type": "event_callback", "event": 5}', '"just a string"'):
        assert deliver(endpoint.url, body, SIGNING_SECRET).status == 400, body
    for form in ("payload=%7Bbroken", "payload=%5B%5D"):
        assert deliver(endpoint.url, form, SIGNING_SECRET, content_type="application/x-www-form-urlencoded").status == 400, form
    assert [c.method for c in endpoint.wire.calls if c.method != "auth.test"] == []


def test_other_paths_and_methods_are_refused(endpoint) -> None:
    base = endpoint.url.rsplit("/", 2)[0]
    assert deliver(base + "/elsewhere", "{}", SIGNING_SECRET).status == 404
    status, _ = _raw_post(endpoint.url, {}, b"")  # an empty, unsigned POST
    assert status == 401


def test_a_signed_event_still_gets_through(endpoint) -> None:
    challenge = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"})
    delivery = deliver(endpoint.url, challenge, SIGNING_SECRET)
    assert delivery.status == 200 and "abc123" in delivery.body
