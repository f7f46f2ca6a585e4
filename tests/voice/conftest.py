"""Shared fixtures for the voice tests: offline settings in a temp data dir, local servers in threads."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from aiohttp import web

from pipelines.settings import Settings, load_settings
from voice.audio import Audio
from voice.backends.piper import PiperBackend


@pytest.fixture
def make_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Settings isolated from the developer's environment (no real key, no real worker)."""
    for name in list(os.environ):
        if name.startswith("COURSE_TA_") or name == "ELEVENLABS_API_KEY":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env

    def make(**overrides) -> Settings:
        return load_settings(data_dir=tmp_path / "data", **overrides)

    return make


@pytest.fixture(scope="session")
def piper() -> PiperBackend:
    return PiperBackend()


@pytest.fixture(scope="session")
def speech_clip(piper: PiperBackend, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real spoken reference clip (Piper, ~6 s, mono 22.05 kHz WAV) for cloning tests."""
    audio = piper.synthesize(
        "Welcome back to the course. Today we look at gradient descent and why the learning rate matters so much. Let us begin.",
        "x",
    )
    path = tmp_path_factory.mktemp("clips") / "reference.wav"
    path.write_bytes(Audio(audio.samples * 0.8, audio.sample_rate).to_wav())
    return path


@contextmanager
def serve(app: web.Application) -> Iterator[str]:
    """Run an aiohttp app on 127.0.0.1 on a free port in a background thread; yields its base URL."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    started = threading.Event()
    port_box: list[int] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        port_box.append(runner.addresses[0][1])
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    assert started.wait(10), "local server did not start"
    try:
        yield f"http://127.0.0.1:{port_box[0]}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


@contextmanager
def silent_tcp_server() -> Iterator[str]:
    """Accepts connections and never answers: a hung service, for real timeouts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
                held.append(connection)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(2)
        for connection in held:
            connection.close()
        server.close()


@pytest.fixture
def serve_app():
    """``with serve_app(app) as url:`` runs an aiohttp app locally for the test."""
    return serve


@pytest.fixture
def hung_server():
    """``with hung_server() as url:`` a server that accepts and never answers."""
    return silent_tcp_server
