"""Fixtures for the LLM layer: a scripted chat-completions server and settings pointing at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pipelines.settings import Settings, load_settings
from tests.fakes.openai_chat import ChatServer, Reply, Responder


@pytest.fixture
def chat_server() -> Iterator[Callable[[Responder], ChatServer]]:
    servers: list[ChatServer] = []

    def start(responder: Responder) -> ChatServer:
        server = ChatServer(responder).__enter__()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def llm_settings(server: ChatServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "llm_base_url": server.base_url,
        "llm_model": "scripted",
        "llm_timeout_s": 5.0,
        "llm_max_retries": 0,
    }
    values.update(overrides)
    return load_settings(**values)


@pytest.fixture(scope="session")
def embedder() -> Any:
    """The bundled MiniLM, loaded once for every test of this folder (it is slow to load on 2 cores)."""
    from pipelines.search.embedders import document_embedder

    component = document_embedder(load_settings(), with_title=False)
    component.warm_up()
    return component


__all__ = ["Reply", "llm_settings"]
