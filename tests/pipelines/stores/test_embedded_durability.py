"""The embedded index loses nothing: concurrent writers merge, readers never see a partial file, damage is named.

Writers and readers here are real processes running the real store; faults come from the store's
own fault-injection point (``save_hook``) or from damaging the file on disk.
"""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from pipelines.stores.errors import StoreBusyError, StoreCorruptError, StoreWriteError
from pipelines.stores.store_file import STORE_FILE, TEMP_PREFIX

REPO = Path(__file__).resolve().parents[3]
ROUNDS = 40
DELETED_ROUNDS = {r - 2 for r in range(ROUNDS) if r % 4 == 3}  # each writer deletes some of its own earlier rounds

# One writer process: every round writes three documents and saves; every fourth round also deletes
# an earlier round of its own. "long" keeps one store object (like the scheduler), "fresh" opens one
# per round (like repeated `course-ta ingest` runs).
WRITER = """
import sys
from haystack import Document
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore

directory, name, rounds, mode = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = PersistentInMemoryDocumentStore(directory)
for r in range(rounds):
    if mode == "fresh":
        store = PersistentInMemoryDocumentStore(directory)
    store.write_documents([
        Document(id=f"{name}-{r}-{k}", content=f"{name} round {r} part {k} about gradients", embedding=[float(r), float(k), 1.0],
                 meta={"video_id": f"{name}-{r}"})
        for k in range(3)
    ])
    if r % 4 == 3:
        store.delete_documents([f"{name}-{r - 2}-{k}" for k in range(3)])
    store.save()
"""

# One reader process: until told to stop, loads the index afresh (one snapshot: a store reloads on every
# read, so two calls may see two saves) and follows it with a long-lived store; any error is printed
# and ends it with status 1.
READER = """
import sys, time
from pathlib import Path
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore

directory, stop = sys.argv[1], Path(sys.argv[2])
follower = PersistentInMemoryDocumentStore(directory)
reads = 0
while not stop.exists():
    ids = [d.id for d in PersistentInMemoryDocumentStore(directory).filter_documents()]
    assert len(ids) == len(set(ids)), "a loaded index holds a document twice"
    rounds = {}
    for doc_id in ids:
        writer_round = doc_id.rsplit("-", 1)[0]
        rounds[writer_round] = rounds.get(writer_round, 0) + 1
    # Each save writes or deletes a round's three parts together: a torn or half-merged file shows less.
    assert all(parts == 3 for parts in rounds.values()), rounds
    follower.count_documents()
    follower.bm25_retrieval("gradients", top_k=3)
    reads += 1
print(reads, follower.count_documents())
"""


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO), "HAYSTACK_TELEMETRY_ENABLED": "False"}


def _documents(count: int, prefix: str = "doc") -> list[Document]:
    return [
        Document(
            id=f"{prefix}-{n}", content=f"lecture {prefix} {n} on attention", embedding=[1.0, float(n), 0.5], meta={"video_id": prefix}
        )
        for n in range(count)
    ]


@pytest.mark.timeout(600)
def test_two_writer_processes_and_a_reader_lose_nothing(tmp_path: Path) -> None:
    directory = tmp_path / "store"
    stop = tmp_path / "stop"
    PersistentInMemoryDocumentStore(directory).save()
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(directory), str(stop)], cwd=REPO, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory), name, str(ROUNDS), mode],
            cwd=REPO,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name, mode in (("alpha", "long"), ("beta", "fresh"))
    ]
    for writer in writers:
        _, error = writer.communicate(timeout=500)
        assert writer.returncode == 0, error.decode()
    stop.touch()
    out, error = reader.communicate(timeout=100)
    assert reader.returncode == 0, error.decode()
    reads, followed = (int(n) for n in out.split())
    assert reads > 0

    expected = {f"{name}-{r}-{k}" for name in ("alpha", "beta") for r in range(ROUNDS) if r not in DELETED_ROUNDS for k in range(3)}
    stored = {d.id for d in PersistentInMemoryDocumentStore(directory).filter_documents()}
    assert stored == expected  # nothing lost, nothing deleted came back
    assert followed == len(expected)  # the long-lived reader caught up with the last save
    assert not list(directory.glob(f"{TEMP_PREFIX}*"))


def test_a_reader_picks_up_what_another_store_saved(tmp_path: Path) -> None:
    writer, reader = PersistentInMemoryDocumentStore(tmp_path), PersistentInMemoryDocumentStore(tmp_path)
    assert reader.count_documents() == 0
    writer.write_documents(_documents(3))
    writer.save()
    assert reader.count_documents() == 3
    assert [d.id for d in reader.embedding_retrieval([1.0, 2.0, 0.5], top_k=1)] == ["doc-2"]
    # The reader's own unsaved writes survive a reload, and its save keeps the writer's documents.
    reader.write_documents(_documents(2, prefix="mine"))
    writer.delete_documents(["doc-0"])
    writer.save()
    assert {d.id for d in reader.filter_documents()} == {"doc-1", "doc-2", "mine-0", "mine-1"}
    reader.save()
    assert {d.id for d in PersistentInMemoryDocumentStore(tmp_path).filter_documents()} == {"doc-1", "doc-2", "mine-0", "mine-1"}


def _truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _flipped(data: bytes) -> bytes:
    damaged = bytearray(data)
    damaged[len(damaged) // 2] ^= 0xFF
    return bytes(damaged)


def _payload_altered(data: bytes) -> bytes:
    """A well-formed npz whose documents no longer match the header's checksum (zip CRCs are all fine)."""
    with np.load(io.BytesIO(data), allow_pickle=False) as loaded:
        arrays = {name: loaded[name] for name in loaded.files}
    arrays["documents"] = np.frombuffer(bytes(arrays["documents"]).replace(b"attention", b"ATTENTION"), dtype=np.uint8)
    out = io.BytesIO()
    np.savez(out, **arrays)
    return out.getvalue()


def _pickled(data: bytes) -> bytes:
    """An npz holding a pickled object array: loading must refuse it, never unpickle."""
    out = io.BytesIO()
    np.savez(out, documents=np.array([{"id": "x"}], dtype=object), embeddings=np.zeros((1, 3)), has_embedding=np.ones(1, dtype=bool))
    return out.getvalue()


@pytest.mark.parametrize(
    "damage",
    [_truncated, lambda data: b"", _flipped, _payload_altered, _pickled],
    ids=["truncated", "zero-length", "byte-flipped", "checksum", "pickle"],
)
def test_a_damaged_file_raises_store_corrupt_error_naming_the_repair(tmp_path: Path, damage) -> None:
    store = PersistentInMemoryDocumentStore(tmp_path)
    store.write_documents(_documents(50))
    store.save()
    path = tmp_path / STORE_FILE
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(StoreCorruptError) as raised:
        PersistentInMemoryDocumentStore(tmp_path)
    assert "course-ta ingest --rebuild" in str(raised.value) and "\n" not in str(raised.value)
    assert "allow_pickle" not in str(raised.value)
    # A rebuild opens it empty and its first save replaces the damaged file.
    rebuilt = PersistentInMemoryDocumentStore(tmp_path, rebuild=True)
    rebuilt.write_documents(_documents(2))
    rebuilt.save()
    assert PersistentInMemoryDocumentStore(tmp_path).count_documents() == 2


def test_a_format_1_file_still_loads(tmp_path: Path) -> None:
    records = [{"id": "old-0", "content": "an index from the first release", "meta": {"video_id": "old"}}]
    payload = json.dumps({"version": 1, "documents": records}).encode("utf-8")
    np.savez(
        tmp_path / STORE_FILE,
        embeddings=np.ones((1, 3), dtype=np.float32),
        has_embedding=np.ones(1, dtype=bool),
        documents=np.frombuffer(payload, dtype=np.uint8),
    )
    assert [d.id for d in PersistentInMemoryDocumentStore(tmp_path).filter_documents()] == ["old-0"]


def test_disk_full_during_save_keeps_the_old_index_and_leaves_no_temp_file(tmp_path: Path) -> None:
    store = PersistentInMemoryDocumentStore(tmp_path)
    store.write_documents(_documents(5))
    store.save()
    before = (tmp_path / STORE_FILE).read_bytes()

    def disk_full(step: str, path: Path) -> None:
        if step == "temp-written":
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

    store.write_documents(_documents(5, prefix="more"))
    PersistentInMemoryDocumentStore.save_hook = disk_full
    try:
        with pytest.raises(StoreWriteError) as raised:
            store.save()
    finally:
        PersistentInMemoryDocumentStore.save_hook = None
    assert "no space left on device" in str(raised.value) and "previous index is intact" in str(raised.value)
    assert (tmp_path / STORE_FILE).read_bytes() == before
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))
    assert store.has_unsaved_changes  # the unsaved documents wait for the next save
    store.save()
    assert PersistentInMemoryDocumentStore(tmp_path).count_documents() == 10


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_save(tmp_path: Path) -> None:
    store = PersistentInMemoryDocumentStore(tmp_path)
    store.save()
    orphan = tmp_path / f"{TEMP_PREFIX}99999.deadbeef.tmp.npz"
    orphan.write_bytes(b"half an index")
    store.write_documents(_documents(1))
    store.save()
    assert not orphan.exists()


HOLDER = """
import sys, time
from pathlib import Path
from pipelines.stores.writer_lock import WriterLock

with WriterLock(Path(sys.argv[1])).hold():
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.timeout(120)
def test_a_writer_waits_for_the_lock_then_names_the_process_holding_it(tmp_path: Path) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path)], cwd=REPO, env=_env(), stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        store = PersistentInMemoryDocumentStore(tmp_path, lock_timeout=0.5)
        store.write_documents(_documents(1))
        with pytest.raises(StoreBusyError) as raised:
            store.save()
        assert f"another ingest is running (pid {holder.pid})" in str(raised.value)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    deadline = time.monotonic() + 30  # the kernel releases a dead holder's lock
    while True:
        try:
            store.save()
            break
        except StoreBusyError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    assert PersistentInMemoryDocumentStore(tmp_path).count_documents() == 1
