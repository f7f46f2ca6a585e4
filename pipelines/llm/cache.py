"""LLM outputs cached by content hash and model, so a re-run never pays for the same call twice.

The key hashes everything that decides the output: the stage, the prompt version, the model name,
the base URL and the input text. Changing the model or a prompt makes new entries; the old ones are
simply never read again. Entries are JSON files written atomically (temp file + rename), so two
workers or a killed process never leave a half-written entry behind.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pipelines.atomic_file import write_text_atomically
from pipelines.settings import Settings


class LLMCache:
    """One directory of cached LLM outputs, one JSON file per key under its stage; counts hits and misses."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.misses = 0

    @classmethod
    def for_settings(cls, settings: Settings) -> LLMCache:
        """The cache under ``$DATA_DIR/cache/llm``."""
        return cls(settings.data_dir / "cache" / "llm")

    @staticmethod
    def key(stage: str, model: str, content: Any) -> str:
        """A hex digest of the stage, model and JSON-serializable ``content`` (prompt version, input, ...)."""
        payload = json.dumps({"stage": stage, "model": model, "content": content}, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _path(self, stage: str, key: str) -> Path:
        return self.directory / stage / key[:2] / f"{key}.json"

    def get(self, stage: str, key: str) -> Any | None:
        """The cached value, or None when there is none or it cannot be read (a miss, never an error)."""
        try:
            value = json.loads(self._path(stage, key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value

    def put(self, stage: str, key: str, value: Any) -> None:
        """Store ``value`` as JSON atomically: a reader sees the old entry, the new one, or none."""
        write_text_atomically(self._path(stage, key), json.dumps(value, ensure_ascii=False))
