"""The LLM paraphraser through the real openai client against a local OpenAI-compatible server."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.training.triplets.anchors import LLMParaphraser


class _ChatServer(BaseHTTPRequestHandler):
    requests: list[dict] = []
    fail = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"path": self.path, "body": body})
        if type(self).fail:
            self.send_response(500)
            self.end_headers()
            return
        prompt = body["messages"][0]["content"]
        sentence = prompt.rsplit("Sentence: ", 1)[1]
        reply = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": f'"why does {sentence.split()[0].lower()} matter here?"\n'},
                }
            ],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def chat_server() -> Iterator[str]:
    _ChatServer.requests, _ChatServer.fail = [], False
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ChatServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_paraphraser_sends_the_sentence_and_returns_one_clean_question(chat_server: str) -> None:
    paraphrase = LLMParaphraser(chat_server, "tiny-model")
    question = paraphrase("Padding makes every sentence in a batch the same length.", "What is dynamic padding?")
    assert question == "why does padding matter here?"
    request = _ChatServer.requests[0]
    assert request["path"] == "/v1/chat/completions" and request["body"]["model"] == "tiny-model"
    assert "What is dynamic padding?" in request["body"]["messages"][0]["content"]


def test_a_failing_server_gives_none_so_the_offline_generator_is_used(chat_server: str) -> None:
    _ChatServer.fail = True
    assert LLMParaphraser(chat_server, "tiny-model", timeout_s=5).__call__("Padding makes sentences equal.", "t") is None
