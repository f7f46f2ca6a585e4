"""A local server that plays Slack's Web API (and its file-upload host) for the real ``WebClient``.

It speaks the wire format the SDK speaks: ``POST /api/<method>`` with a Bearer token and a form or
JSON body, answered with ``{"ok": ...}`` JSON. It keeps the state the bot's flow depends on (messages
by channel and ts, upload URLs, uploaded bytes, shared files) and records every call in order, with
the time it arrived, so tests can check order and content. ``fail`` makes a method answer with a
Slack error code, the way Slack itself refuses (e.g. ``not_in_channel``). With ``app_token`` and
``socket_mode_url`` set it also answers ``apps.connections.open`` (Socket Mode's first call, made with
the app-level token) with that WebSocket URL (tests/fakes/slack_socket_mode.py serves it).

Text streaming as the SDK drives it (``WebClient.chat_stream`` → ``chat.startStream`` /
``chat.appendStream`` / ``chat.stopStream``, JSON bodies with ``markdown_text`` or ``chunks``):
a streamed message is kept like any other, with ``text`` the concatenated markdown so far,
``tasks`` the task cards by id, ``stream`` ``"streaming"`` or ``"stopped"`` and, once stopped, the
``blocks`` given to ``chat.stopStream``. As on Slack, a stream outside a DM needs
``recipient_user_id`` and ``recipient_team_id``, a stopped stream takes no more appends
(``message_not_in_streaming_state``) but can be edited with ``chat.update``. The agent view's
``assistant.threads.setStatus`` / ``setSuggestedPrompts`` / ``setTitle`` are recorded per thread.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs

T = TypeVar("T")

# Parameters the SDK sends as JSON strings inside form bodies.
_JSON_FORM_FIELDS = ("blocks", "attachments", "files", "chunks", "prompts", "loading_messages")
MAX_PROMPTS = 4


@dataclass
class Call:
    """One Web API request as it arrived: method, parameters, arrival time and token."""

    method: str
    params: dict[str, Any]
    at: float
    token: str | None


@dataclass
class SlackWire:
    """Slack's Web API for one workspace and one bot; ``start`` it, point a ``WebClient`` at :attr:`api_url`."""

    bot_token: str
    team_id: str = "T0COURSE"
    bot_user_id: str = "U0COURSETA"
    bot_id: str = "B0COURSETA"
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)
    fail: dict[str, str] = field(default_factory=dict)
    app_token: str | None = None
    socket_mode_url: str | None = None
    statuses: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    prompts: list[dict[str, Any]] = field(default_factory=list)
    titles: dict[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ts = itertools.count(1)
        self._files = itertools.count(1)
        self._pending: dict[str, dict[str, Any]] = {}
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> SlackWire:
        """Serve on a random local port in a background thread; returns self."""
        wire = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.startswith("/upload/"):
                    status, body = wire._upload(self.path.rsplit("/", 1)[-1], raw)
                    self._reply(status, body.encode(), "text/plain")
                    return
                if not self.path.startswith("/api/"):
                    self._reply(404, b"not found", "text/plain")
                    return
                params = _parse(raw, self.headers.get("Content-Type", ""))
                auth = self.headers.get("Authorization", "")
                token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else params.pop("token", None)
                result = wire._api(self.path[len("/api/") :].split("?")[0], params, token)
                self._reply(200, json.dumps(result).encode(), "application/json; charset=utf-8")

            def _reply(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``: the upload URLs live here too."""
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def api_url(self) -> str:
        """The ``base_url`` for a ``WebClient``."""
        return self.origin + "/api/"

    # -- queries for tests -------------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        """The calls to ``method`` so far, in arrival order."""
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Messages posted into a thread, oldest first (as the client sees them now)."""
        with self._lock:
            found = [m for (c, _), m in self.messages.items() if c == channel and m.get("thread_ts") == thread_ts]
        return sorted(found, key=lambda m: float(m["ts"]))

    def wait_for(self, predicate: Callable[[], T], timeout: float = 60.0, what: str = "condition") -> T:
        """Poll until ``predicate()`` is truthy; fail with the calls seen so far (no sleep-and-hope)."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                seen = [(c.method, c.params.get("text", "")[:60] if isinstance(c.params.get("text"), str) else "") for c in self.calls]
                raise AssertionError(f"timed out waiting for {what}; calls so far: {seen}")
            time.sleep(0.02)

    # -- the Web API -------------------------------------------------------------------------------
    def _api(self, method: str, params: dict[str, Any], token: str | None) -> dict[str, Any]:
        with self._lock:
            self.calls.append(Call(method, params, time.monotonic(), token))
            if method == "apps.connections.open":
                return self._connections_open(token)
            if token != self.bot_token:
                return {"ok": False, "error": "invalid_auth"}
            if method in self.fail:
                return {"ok": False, "error": self.fail[method]}
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            if handler is None:
                return {"ok": False, "error": "unknown_method"}
            return handler(params)

    def _connections_open(self, token: str | None) -> dict[str, Any]:
        if self.app_token is None or self.socket_mode_url is None:
            return {"ok": False, "error": "unknown_method"}
        if token == self.bot_token:
            return {"ok": False, "error": "not_allowed_token_type"}  # Slack's answer to a bot token here
        if token != self.app_token:
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": self.socket_mode_url}

    def _m_auth_test(self, params: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://course.slack.com/",
            "team": "Course",
            "user": "course-ta",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _next_ts(self) -> str:
        return f"{1_700_000_000 + next(self._ts)}.000100"

    def _m_chat_postMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        channel = params.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not params.get("text") and not params.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "ts": ts,
            "text": params.get("text", ""),
            "blocks": params.get("blocks") or [],
            "thread_ts": params.get("thread_ts") or ts,
            "edits": 0,
        }
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _m_chat_update(self, params: dict[str, Any]) -> dict[str, Any]:
        key = (params.get("channel"), params.get("ts"))
        message = self.messages.get(key)  # type: ignore[arg-type]
        if message is None:
            return {"ok": False, "error": "message_not_found"}
        if message.get("stream") == "streaming":
            return {"ok": False, "error": "message_is_streaming"}
        if len(params.get("blocks") or []) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        message.update(text=params.get("text", ""), blocks=params.get("blocks") or [], edits=message["edits"] + 1)
        return {"ok": True, "channel": key[0], "ts": key[1], "text": message["text"]}

    # -- text streaming ------------------------------------------------------------------------------
    def _m_chat_startStream(self, params: dict[str, Any]) -> dict[str, Any]:
        channel, thread_ts = params.get("channel"), params.get("thread_ts")
        if not channel or not thread_ts:
            return {"ok": False, "error": "invalid_arguments"}
        if not str(channel).startswith("D") and not (params.get("recipient_user_id") and params.get("recipient_team_id")):
            return {"ok": False, "error": "missing_recipient"}  # required when streaming outside a DM
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "ts": ts,
            "text": "",
            "blocks": [],
            "thread_ts": thread_ts,
            "edits": 0,
            "stream": "streaming",
            "recipient": (params.get("recipient_user_id"), params.get("recipient_team_id")),
            "tasks": {},
            "appends": [],  # the markdown text of each call, in order
        }
        error = self._stream_content(message, params)
        if error:
            return {"ok": False, "error": error}
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts}

    def _m_chat_appendStream(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._continued_stream(params)
        if isinstance(message, str):
            return {"ok": False, "error": message}
        message["edits"] += 1
        return {"ok": True, "channel": params["channel"], "ts": params["ts"]}

    def _m_chat_stopStream(self, params: dict[str, Any]) -> dict[str, Any]:
        message = self._continued_stream(params)
        if isinstance(message, str):
            return {"ok": False, "error": message}
        blocks = params.get("blocks") or []
        if len(blocks) > 50:
            return {"ok": False, "error": "invalid_blocks"}
        message.update(blocks=blocks, stream="stopped", edits=message["edits"] + 1)
        return {"ok": True, "channel": params["channel"], "ts": params["ts"], "message": {"ts": params["ts"], "text": message["text"]}}

    def _continued_stream(self, params: dict[str, Any]) -> dict[str, Any] | str:
        """The streaming message an append or stop names, with the call's content applied; an error code when it cannot be."""
        message = self._streaming(params)
        if isinstance(message, str):
            return message
        return self._stream_content(message, params) or message

    def _streaming(self, params: dict[str, Any]) -> dict[str, Any] | str:
        message = self.messages.get((params.get("channel"), params.get("ts")))  # type: ignore[arg-type]
        if message is None:
            return "message_not_found"
        if message.get("stream") != "streaming":
            return "message_not_in_streaming_state"
        return message

    @staticmethod
    def _stream_content(message: dict[str, Any], params: dict[str, Any]) -> str | None:
        """Apply ``markdown_text`` and ``chunks`` (markdown_text and task_update) to a streamed message; an error code or None."""
        pieces: list[str] = []
        if params.get("markdown_text"):
            pieces.append(params["markdown_text"])
        for chunk in params.get("chunks") or []:
            kind = chunk.get("type")
            if kind == "markdown_text":
                pieces.append(chunk.get("text", ""))
            elif kind == "task_update":
                if (
                    not chunk.get("id")
                    or not chunk.get("title")
                    or chunk.get("status") not in ("pending", "in_progress", "complete", "error")
                ):
                    return "invalid_chunks"
                message["tasks"][chunk["id"]] = {"title": chunk["title"], "status": chunk["status"]}
            elif kind not in ("plan_update", "blocks"):
                return "invalid_chunks"
        text = "".join(pieces)
        if len(text) > 12_000:
            return "msg_too_long"
        message["text"] += text
        message["appends"].append(text)
        return None

    # -- the agent view -------------------------------------------------------------------------------
    def _m_assistant_threads_setStatus(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel_id") or not params.get("thread_ts") or "status" not in params:
            return {"ok": False, "error": "invalid_arguments"}
        self.statuses.setdefault((params["channel_id"], params["thread_ts"]), []).append(
            {"status": params["status"], "loading_messages": params.get("loading_messages") or []}
        )
        return {"ok": True}

    def _m_assistant_threads_setSuggestedPrompts(self, params: dict[str, Any]) -> dict[str, Any]:
        prompts = params.get("prompts")
        if not params.get("channel_id") or not isinstance(prompts, list) or not prompts or len(prompts) > MAX_PROMPTS:
            return {"ok": False, "error": "invalid_arguments"}
        if any(not p.get("title") or not p.get("message") for p in prompts):
            return {"ok": False, "error": "invalid_arguments"}
        self.prompts.append(
            {"channel_id": params["channel_id"], "thread_ts": params.get("thread_ts"), "title": params.get("title"), "prompts": prompts}
        )
        return {"ok": True}

    def _m_assistant_threads_setTitle(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel_id") or not params.get("thread_ts") or not params.get("title"):
            return {"ok": False, "error": "invalid_arguments"}
        self.titles[(params["channel_id"], params["thread_ts"])] = params["title"]
        return {"ok": True}

    def _m_chat_postEphemeral(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("channel") or not params.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_reactions_add(self, params: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True} if params.get("name") and params.get("timestamp") else {"ok": False, "error": "invalid_arguments"}

    _m_reactions_remove = _m_reactions_add

    def _m_files_getUploadURLExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        if not params.get("filename") or not str(params.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{next(self._files):08d}"
        self._pending[file_id] = {"filename": params["filename"], "length": int(params["length"])}
        return {"ok": True, "upload_url": f"{self.origin}/upload/{file_id}", "file_id": file_id}

    def _upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        with self._lock:
            self.calls.append(Call("upload", {"file_id": file_id, "bytes": len(data)}, time.monotonic(), None))
            pending = self._pending.get(file_id)
            if pending is None:
                return 404, "unknown upload"
            if pending["length"] != len(data):
                return 400, "length mismatch"
            self.uploads[file_id] = data
            return 200, f"OK - {len(data)}"

    def _m_files_completeUploadExternal(self, params: dict[str, Any]) -> dict[str, Any]:
        files = params.get("files") or []
        if not files or any(f.get("id") not in self.uploads for f in files):
            return {"ok": False, "error": "file_upload_not_found" if files else "invalid_arguments"}
        shared = []
        for f in files:
            pending = self._pending[f["id"]]
            shared.append(
                {
                    "id": f["id"],
                    "name": pending["filename"],
                    "title": f.get("title") or pending["filename"],
                    "size": len(self.uploads[f["id"]]),
                    "channels": [params.get("channel_id")],
                    "thread_ts": params.get("thread_ts"),
                }
            )
        return {"ok": True, "files": shared}


def _parse(raw: bytes, content_type: str) -> dict[str, Any]:
    text = raw.decode("utf-8")
    if "application/json" in content_type:
        params: dict[str, Any] = json.loads(text or "{}")
    else:
        params = {key: values[-1] for key, values in parse_qs(text, keep_blank_values=True).items()}
    for name in _JSON_FORM_FIELDS:
        if isinstance(params.get(name), str):
            params[name] = json.loads(params[name])
    return params
