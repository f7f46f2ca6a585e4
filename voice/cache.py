"""A content-addressed clip cache with a size cap: the same answer in the same voice is rendered once.

The key is a hash of everything that changes the sound (speech text, backend, voice, the backend's
settings fingerprint, format), so a changed setting is a miss, never a stale clip. Entries are
written to a temporary name and renamed into place, metadata last: a crash or a failed render can
leave garbage in ``tmp/`` but never a broken entry that a later lookup would serve.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_VERSION = 1


def cache_key(text: str, backend: str, voice: str, fingerprint: dict[str, Any]) -> str:
    """A hex digest that changes whenever anything that changes the sound changes."""
    payload = json.dumps(
        {"v": CACHE_VERSION, "text": text, "backend": backend, "voice": voice, "settings": fingerprint},
        sort_keys=True,
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class CachedClip:
    """One cache entry: the encoded files by format and the metadata stored with them."""

    key: str
    files: dict[str, bytes]
    meta: dict[str, Any]


class ClipCache:
    """Files ``<key[:2]>/<key>.<fmt>`` plus ``<key>.json``; least recently used entries go first."""

    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def _paths(self, key: str) -> tuple[Path, Path]:
        folder = self.root / key[:2]
        return folder, folder / f"{key}.json"

    def get(self, key: str, formats: tuple[str, ...]) -> CachedClip | None:
        """The entry with every one of ``formats``, or None (missing, unreadable or truncated files are a miss)."""
        folder, meta_path = self._paths(key)
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            files = {fmt: (folder / f"{key}.{fmt}").read_bytes() for fmt in formats}
        except (OSError, ValueError):
            return None
        if any(len(data) != meta.get("sizes", {}).get(fmt) for fmt, data in files.items()):
            return None  # truncated or replaced behind our back: treat as a miss
        now = time.time()
        try:
            os.utime(meta_path, (now, now))  # recency for eviction
        except OSError:
            pass
        return CachedClip(key, files, meta)

    def put(self, key: str, files: dict[str, bytes], meta: dict[str, Any]) -> None:
        """Store a clip atomically (files first, metadata last), then evict down to the size cap."""
        if not files or any(not data for data in files.values()):
            raise ValueError("refusing to cache an empty clip")
        folder, meta_path = self._paths(key)
        folder.mkdir(parents=True, exist_ok=True)
        for fmt, data in files.items():
            self._atomic_write(folder / f"{key}.{fmt}", data)
        full_meta = dict(meta, sizes={fmt: len(data) for fmt, data in files.items()}, created=time.time())
        self._atomic_write(meta_path, json.dumps(full_meta, ensure_ascii=False).encode("utf-8"))
        self.evict()

    def _atomic_write(self, path: Path, data: bytes) -> None:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def size_bytes(self) -> int:
        """Bytes on disk under the cache root, temporary files included."""
        return sum(path.stat().st_size for path in self.root.rglob("*") if path.is_file())

    def evict(self) -> int:
        """Drop least recently used entries until the cache fits its cap; returns entries removed."""
        if not self.root.exists():
            return 0
        entries: list[tuple[float, int, list[Path]]] = []
        total = 0
        for meta_path in self.root.glob("*/*.json"):
            key = meta_path.stem
            files = list(meta_path.parent.glob(f"{key}.*"))
            size = sum(p.stat().st_size for p in files if p.exists())
            total += size
            entries.append((meta_path.stat().st_mtime, size, files))
        removed = 0
        for _, size, files in sorted(entries, key=lambda entry: entry[0]):
            if total <= self.max_bytes:
                break
            for path in sorted(files, key=lambda p: p.suffix != ".json"):  # metadata first: no half entry
                path.unlink(missing_ok=True)
            total -= size
            removed += 1
        return removed
