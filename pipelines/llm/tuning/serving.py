"""A small OpenAI-compatible chat-completions server for a tuned model on CPU (transformers behind HTTP).

The app talks to any OpenAI-compatible server through ``COURSE_TA_LLM_BASE_URL``, so a tuned model
is used by pointing that variable here; nothing else changes. It serves ``GET /v1/models`` and
``POST /v1/chat/completions`` (plain and ``stream: true`` server-sent events with a final usage
chunk), renders messages with the model's own chat template and a generation prompt (as training
did), and generates one request at a time. It exists because llama-cpp-python has no wheel here and
builds from source; on a GPU use vLLM, which serves LoRA adapters directly (see docs/operators.md).

Run: ``python -m pipelines.llm.tuning.serving --model DATA_DIR/models/course-answers/adapter --port 8088``.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from pipelines.llm.tuning.models import load_for_inference


class ChatModel:
    """A loaded causal LM that turns chat messages into a completion; one generation at a time."""

    def __init__(self, path: Path, name: str = "") -> None:
        self.model, self.tokenizer = load_for_inference(path)
        self.name = name or path.name
        self._lock = threading.Lock()

    def _inputs(self, messages: list[dict[str, str]]) -> Any:
        return self.tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)

    def _kwargs(self, inputs: Any, max_tokens: int, temperature: float) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(inputs)
        kwargs.update(max_new_tokens=max_tokens, pad_token_id=self.tokenizer.pad_token_id)
        if temperature > 0.15:  # the app's default 0.1 is as good as greedy, and greedy is reproducible
            kwargs.update(do_sample=True, temperature=temperature)
        else:
            kwargs.update(do_sample=False)
        return kwargs

    def complete(self, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> tuple[str, int, int]:
        """(text, prompt tokens, completion tokens)."""
        import torch

        inputs = self._inputs(messages)
        prompt = int(inputs["input_ids"].shape[1])
        with self._lock, torch.inference_mode():
            output = self.model.generate(**self._kwargs(inputs, max_tokens, temperature))
        new = output[0][prompt:]
        return self.tokenizer.decode(new, skip_special_tokens=True), prompt, int(new.shape[0])

    def stream(self, messages: list[dict[str, str]], max_tokens: int, temperature: float, send: Any) -> tuple[int, int]:
        """Generate, passing each decoded piece to ``send``; returns (prompt tokens, completion tokens)."""
        import torch
        from transformers import TextIteratorStreamer

        inputs = self._inputs(messages)
        prompt = int(inputs["input_ids"].shape[1])
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        produced: dict[str, Any] = {}

        def generate() -> None:
            with torch.inference_mode():
                produced["ids"] = self.model.generate(**self._kwargs(inputs, max_tokens, temperature), streamer=streamer)

        with self._lock:
            worker = threading.Thread(target=generate, daemon=True)
            worker.start()
            for piece in streamer:
                if piece:
                    send(piece)
            worker.join()
        return prompt, int(produced["ids"].shape[1] - prompt) if "ids" in produced else 0


class OpenAIChatServer:
    """``ChatModel`` behind the OpenAI wire format on ``host:port`` (port 0 picks a free one); a context manager."""

    def __init__(self, model: ChatModel, host: str = "127.0.0.1", port: int = 0) -> None:
        self.model = model
        handler = _handler(model)
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The ``/v1`` URL to put in ``COURSE_TA_LLM_BASE_URL``."""
        host, port = self.httpd.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else host
        return f"http://{name}:{port}/v1"

    def start(self) -> OpenAIChatServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> OpenAIChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(model: ChatModel) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _error(self, status: int, message: str) -> None:
            self._json(status, {"error": {"message": message, "type": "invalid_request_error"}})

        def do_GET(self) -> None:
            if self.path.rstrip("/").endswith("/models"):
                self._json(200, {"object": "list", "data": [{"id": model.name, "object": "model", "owned_by": "course-ta"}]})
            else:
                self._error(404, f"no route {self.path}")

        def do_POST(self) -> None:
            if not self.path.rstrip("/").endswith("/chat/completions"):
                self._error(404, f"no route {self.path}")
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                messages = [{"role": str(m["role"]), "content": str(m.get("content") or "")} for m in body["messages"]]
                max_tokens = int(body.get("max_tokens") or body.get("max_completion_tokens") or 256)
                temperature = float(body.get("temperature") or 0.0)
            except (ValueError, KeyError, TypeError) as error:
                self._error(400, f"bad request: {error}")
                return
            ident, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())
            if body.get("stream"):
                self._stream(ident, created, messages, max_tokens, temperature)
                return
            text, prompt, completion = model.complete(messages, max_tokens, temperature)
            self._json(
                200,
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model.name,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
                },
            )

        def _stream(self, ident: str, created: int, messages: list[dict[str, str]], max_tokens: int, temperature: float) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Connection", "close")
            self.end_headers()
            self.close_connection = True

            def event(choices: list[dict[str, Any]], usage: dict[str, int] | None = None) -> None:
                chunk: dict[str, Any] = {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model.name}
                chunk["choices"] = choices
                if usage is not None:
                    chunk["usage"] = usage
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

            event([{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
            prompt, completion = model.stream(
                messages, max_tokens, temperature, lambda piece: event([{"index": 0, "delta": {"content": piece}, "finish_reason": None}])
            )
            event([{"index": 0, "delta": {}, "finish_reason": "stop"}])
            event([], {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

    return Handler


def main(argv: list[str] | None = None) -> int:
    """Serve ``--model`` until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m pipelines.llm.tuning.serving", description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, type=Path, help="adapter folder, merged folder or any Hugging Face causal LM folder")
    parser.add_argument("--name", default="", help="model id to answer with (COURSE_TA_LLM_MODEL); default the folder name")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8088)
    args = parser.parse_args(argv)
    server = OpenAIChatServer(ChatModel(args.model, args.name), args.host, args.port)
    print(
        f"serving {server.model.name} at {server.base_url}  (COURSE_TA_LLM_BASE_URL={server.base_url} COURSE_TA_LLM_MODEL={server.model.name})"
    )
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
