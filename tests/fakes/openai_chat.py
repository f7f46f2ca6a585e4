"""A local server that speaks the OpenAI chat-completions wire format, driven by a test's script.

The real ``openai`` client talks to it over HTTP on 127.0.0.1 (random port). A test gives a
``responder(request_json) -> Reply`` that decides what the "model" says, how slow it is, and which
HTTP status it answers; every request body is recorded for assertions. Streaming replies are
server-sent events exactly as OpenAI sends them: ``data: {chunk}\\n\\n`` … ``data: [DONE]\\n\\n``.
A streamed reply can stop half-way (``hold_after`` characters sent) until the test sets ``hold``,
so "while the model is still writing" is a state a test reaches deterministically.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.fakes.local_http import LocalHTTPServer


@dataclass
class Reply:
    text: str = ""
    status: int = 200
    delay_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    prompt_tokens: int | None = None  # None: counted as words of the prompt
    completion_tokens: int | None = None
    error: str = ""
    hold_after: int = 0  # streamed replies: send this many characters, then wait for ``hold`` before the rest
    hold: threading.Event | None = None


Responder = Callable[[dict[str, Any]], Reply]


class ChatServer(LocalHTTPServer):
    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                server.paths.append(self.path)
                self._json(200, {"object": "list", "data": [{"id": "scripted", "object": "model", "owned_by": "tests"}]})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.paths.append(self.path)
                server.requests.append(body)
                if not self.path.endswith("/chat/completions"):
                    self._json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                reply = server.responder(body)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status != 200:
                    self._json(
                        reply.status, {"error": {"message": reply.error or "scripted failure", "type": "server_error"}}, reply.headers
                    )
                    return
                prompt = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
                usage = {
                    "prompt_tokens": reply.prompt_tokens if reply.prompt_tokens is not None else prompt,
                    "completion_tokens": reply.completion_tokens if reply.completion_tokens is not None else len(reply.text.split()),
                }
                usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
                if body.get("stream"):
                    self._stream(body, reply, usage)
                else:
                    self._json(
                        200,
                        {
                            "id": "chatcmpl-test",
                            "object": "chat.completion",
                            "created": int(time.time()),
                            "model": body.get("model"),
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
                            "usage": usage,
                        },
                    )

            def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, body: dict[str, Any], reply: Reply, usage: dict[str, int]) -> None:
                text = reply.text
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": int(time.time()), "model": body.get("model")}
                pieces = [text[i : i + 7] for i in range(0, len(text), 7)]  # small deltas that split markers apart
                events = [{**base, "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]}]
                events += [{**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]} for piece in pieces]
                events.append({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
                if (body.get("stream_options") or {}).get("include_usage"):
                    events.append(
                        {**base, "choices": [], "usage": {**usage, "total_tokens": usage["prompt_tokens"] + usage["completion_tokens"]}}
                    )
                sent = 0
                for event in events:
                    self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                    self.wfile.flush()
                    if reply.hold is not None and sent < reply.hold_after:
                        sent += len(next((c["delta"].get("content") or "" for c in event["choices"]), ""))
                        if sent >= reply.hold_after:
                            reply.hold.wait(120)  # a test that never releases fails instead of hanging
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        super().__init__(Handler)

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def user_text(self, index: int = -1) -> str:
        return str(self.requests[index]["messages"][-1]["content"])


@dataclass
class WritingModel:
    """A chat model that writes the first ``hold_after`` characters of ``text`` in every reply, then waits for ``release``,
    so "the model is still writing" is a state a test holds; ``server`` is its wire fake (its ``requests``, ``base_url``)."""

    text: str
    hold_after: int
    go_on: threading.Event = field(default_factory=threading.Event)
    server: ChatServer = field(init=False)

    def respond(self, body: dict[str, Any]) -> Reply:
        return Reply(self.text, hold_after=self.hold_after, hold=self.go_on)

    def release(self) -> None:
        self.go_on.set()


@contextmanager
def writing_model(text: str, hold_after: int) -> Iterator[WritingModel]:
    """A :class:`WritingModel` behind its running server; released (so nothing hangs) when the block ends."""
    model = WritingModel(text, hold_after)
    with ChatServer(model.respond) as server:
        model.server = server
        try:
            yield model
        finally:
            model.release()
