"""The embedded index's file: one ``.npz`` written whole to a unique temp file, checked on every read.

Layout (format 2): four arrays, no pickled objects anywhere, so loading never runs code from the file:

- ``header``: UTF-8 JSON ``{"format", "version", "generation", "save_id", "count", "dimension", "sha256"}``;
- ``documents``: UTF-8 JSON list of ``{"id", "content", "meta"}``;
- ``embeddings``: float32 matrix, one row per document; ``has_embedding``: which rows hold a vector.

``sha256`` covers the three payload arrays, so a truncated, zero-length or altered file is told apart
from an index (zip's own CRC catches most damage; the checksum catches the rest). ``generation`` grows
by one with each save and ``save_id`` names one save, so a process can tell whether the file changed
since it read it without reading the payload. Format 1 (no header) is still read, without checksum.

Writing goes to ``.documents.<pid>.<random>.tmp.npz`` in the same folder, is fsynced, renamed over
``documents.npz`` in one ``os.replace`` and the folder is fsynced: a reader sees the old file or the
new one, never a partial one, and a failed write (disk full, a killed process) leaves the old file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from haystack import Document

from pipelines.stores.errors import StoreCorruptError, StoreWriteError

STORE_FILE = "documents.npz"
FORMAT_NAME = "course-ta-embedded-store"
FORMAT_VERSION = 2
TEMP_PREFIX = ".documents."
TEMP_SUFFIX = ".tmp.npz"
REBUILD_HINT = "run `course-ta ingest --rebuild` to recreate it from the saved transcripts"

# The identity of one file on disk: a reader reloads when it changes (os.replace makes a new inode).
Signature = tuple[int, int, int, int]

# Fault-injection point for tests: called with a step name ("temp-written", "replaced") and the path
# it concerns while a save runs; whatever it raises is raised by the save (e.g. OSError(ENOSPC)).
SaveHook = Callable[[str, Path], None]


@dataclass(frozen=True)
class Snapshot:
    """One saved index read back: its documents by id, which save wrote it and the file it came from."""

    documents: dict[str, Document]
    generation: int
    save_id: str
    signature: Signature | None


def signature_of(stat: os.stat_result) -> Signature:
    """What changes whenever the file is replaced or rewritten."""
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


def current_signature(path: Path) -> Signature | None:
    """The signature of ``path`` now, or None when there is no file."""
    try:
        return signature_of(os.stat(path))
    except FileNotFoundError:
        return None


def _reason(error: Exception) -> str:
    """What a load error says about the file, without advice meant for developers (numpy suggests allow_pickle)."""
    if "pickle" in str(error).lower():
        return "it holds pickled Python objects, which course-ta never loads"
    return f"{type(error).__name__}: {error}"


def _corrupt(path: Path, reason: str) -> StoreCorruptError:
    return StoreCorruptError(f"the index at {path} is damaged ({reason}); {REBUILD_HINT}")


def _digest(documents: bytes, embeddings: np.ndarray, has_embedding: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(documents)
    digest.update(repr(embeddings.shape).encode("ascii"))
    digest.update(np.ascontiguousarray(embeddings, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(has_embedding, dtype=bool).tobytes())
    return digest.hexdigest()


def _decode_json(raw: np.ndarray, what: str, path: Path) -> Any:
    if raw.dtype != np.uint8 or raw.ndim != 1:
        raise _corrupt(path, f"{what} is not UTF-8 JSON bytes")
    try:
        return json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _corrupt(path, f"{what} is not valid JSON: {error}") from None


def read_header(path: Path) -> dict[str, Any] | None:
    """The header of the file at ``path`` without reading its payload; None for a format 1 file."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if "header" not in data.files:
                return None
            header = _decode_json(data["header"], "the header", path)
    except StoreCorruptError:
        raise
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as error:  # zip, npy and JSON damage all mean the same thing to the user
        raise _corrupt(path, _reason(error)) from None
    if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
        raise _corrupt(path, "not a course-ta index header")
    return header


def read_snapshot(path: Path) -> Snapshot:
    """Every document of the file at ``path``, checked against its checksum; raises ``StoreCorruptError``."""
    try:
        with open(path, "rb") as handle:
            signature = signature_of(os.fstat(handle.fileno()))
            if signature[1] == 0:
                raise _corrupt(path, "the file is empty")
            with np.load(handle, allow_pickle=False) as data:
                arrays = {name: data[name] for name in data.files}
    except StoreCorruptError:
        raise
    except (FileNotFoundError, PermissionError):
        raise
    except Exception as error:  # BadZipFile, bad CRC, truncated npy, object arrays refused without pickle
        raise _corrupt(path, _reason(error)) from None
    for name in ("documents", "embeddings", "has_embedding"):
        if name not in arrays:
            raise _corrupt(path, f"the {name} array is missing")
    documents_raw, matrix, has_embedding = arrays["documents"], arrays["embeddings"], arrays["has_embedding"]
    generation, save_id = 0, ""
    if "header" in arrays:
        header = _decode_json(arrays["header"], "the header", path)
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            raise _corrupt(path, "not a course-ta index header")
        if header.get("version") != FORMAT_VERSION:
            raise StoreCorruptError(
                f"{path} was written by an incompatible version of course-ta (format {header.get('version')}); {REBUILD_HINT}"
            )
        if header.get("sha256") != _digest(documents_raw.tobytes(), matrix, has_embedding):
            raise _corrupt(path, "checksum mismatch")
        generation, save_id = int(header.get("generation", 0)), str(header.get("save_id", ""))
    payload = _decode_json(documents_raw, "the document list", path)
    records = payload.get("documents") if isinstance(payload, dict) else None
    if not isinstance(records, list):
        raise _corrupt(path, "no document list")
    if "header" not in arrays and payload.get("version") != 1:
        raise StoreCorruptError(f"{path} was written by an incompatible version of course-ta; {REBUILD_HINT}")
    if matrix.ndim != 2 or has_embedding.ndim != 1 or len(matrix) != len(records) or len(has_embedding) != len(records):
        raise _corrupt(path, f"{len(records)} documents but {matrix.shape} embeddings")
    documents: dict[str, Document] = {}
    try:
        for row, record in enumerate(records):
            documents[record["id"]] = Document(
                id=record["id"],
                content=record["content"],
                meta=record["meta"],
                embedding=matrix[row].tolist() if has_embedding[row] else None,
            )
    except (KeyError, TypeError, ValueError) as error:
        raise _corrupt(path, f"a document record is malformed: {error}") from None
    return Snapshot(documents, generation, save_id, signature)


def remove_orphan_temps(directory: Path) -> int:
    """Delete temp files left by a writer that died mid-save; call only while holding the writer lock."""
    removed = 0
    for path in directory.glob(f"{TEMP_PREFIX}*{TEMP_SUFFIX}"):
        path.unlink(missing_ok=True)
        removed += 1
    return removed


def write_snapshot(path: Path, documents: Iterable[Document], generation: int, hook: SaveHook | None = None) -> Snapshot:
    """Write ``documents`` as the file at ``path`` atomically; returns what was written (without documents).

    On any failure the temp file is removed and the previous file is left as it was; ``OSError`` is
    raised as ``StoreWriteError`` with the reason in words (disk full, permission denied).
    """
    directory = path.parent
    directory.mkdir(parents=True, exist_ok=True)
    documents = list(documents)
    dimension = next((len(d.embedding) for d in documents if d.embedding is not None), 0)
    matrix = np.zeros((len(documents), dimension), dtype=np.float32)
    has_embedding = np.zeros(len(documents), dtype=bool)
    for row, document in enumerate(documents):
        if document.embedding is not None and len(document.embedding) == dimension:
            matrix[row] = document.embedding
            has_embedding[row] = True
    records = [{"id": d.id, "content": d.content, "meta": d.meta} for d in documents]
    payload = json.dumps({"version": 1, "documents": records}, ensure_ascii=False).encode("utf-8")
    save_id = uuid.uuid4().hex
    header = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "generation": generation,
        "save_id": save_id,
        "count": len(documents),
        "dimension": dimension,
        "sha256": _digest(payload, matrix, has_embedding),
    }
    temporary = directory / f"{TEMP_PREFIX}{os.getpid()}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}"
    try:
        with open(temporary, "wb") as handle:
            np.savez(
                handle,
                header=np.frombuffer(json.dumps(header).encode("utf-8"), dtype=np.uint8),
                documents=np.frombuffer(payload, dtype=np.uint8),
                embeddings=matrix,
                has_embedding=has_embedding,
            )
            handle.flush()
            if hook is not None:
                hook("temp-written", temporary)
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        _fsync_directory(directory)
        if hook is not None:
            hook("replaced", path)
    except OSError as error:
        raise StoreWriteError(_write_failure(path, error)) from error
    finally:
        temporary.unlink(missing_ok=True)
    return Snapshot({}, generation, save_id, current_signature(path))


def _write_failure(path: Path, error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        reason = "no space left on device"
    elif error.errno == errno.EDQUOT:
        reason = "disk quota exceeded"
    elif error.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = f"not writable ({error.strerror})"
    else:
        reason = error.strerror or str(error)
    return (
        f"could not save the index at {path}: {reason}. The previous index is intact and videos indexed before its last save are kept; "
        "free space (or fix the folder) and run the command again to index the rest"
    )


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (the new name survives a power cut)."""
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems refuse to open a folder; the rename is still atomic
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def verify(path: Path) -> int:
    """Read and check the whole file; returns its document count or raises ``StoreCorruptError``."""
    return len(read_snapshot(path).documents)
