"""Idempotent, incremental indexing into the persisted embedded store."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store

LECTURES = {
    "lec-a": "Gradient descent moves the weights against the gradient. The learning rate sets the step size. Too large a step diverges.",
    "lec-b": "Tokenizers split text into tokens. Byte pair encoding merges frequent pairs. WordPiece is used by BERT.",
    "lec-c": "Attention compares queries with keys. The weights then mix the values. Multi-head attention does this in parallel.",
}


def srt(text: str) -> str:
    """An SRT with one cue per sentence of ``text``, every 5 s."""
    cues = []
    for i, sentence in enumerate(text.split(". ")):
        cues.append(f"{i + 1}\n00:00:{i * 5:02d},000 --> 00:00:{i * 5 + 4:02d},000\n{sentence.rstrip('.')}.\n")
    return "\n".join(cues)


def srt_course(folder: Path, lectures: dict[str, str]) -> Path:
    """``folder``, created, with one ``<video_id>.srt`` per lecture text."""
    folder.mkdir()
    for video_id, text in lectures.items():
        (folder / f"{video_id}.srt").write_text(srt(text))
    return folder


@pytest.fixture
def course(tmp_path: Path) -> Path:
    folder = srt_course(tmp_path / "course", LECTURES)
    (folder / "manifest.csv").write_text(
        "video_id,title,url,series\n"
        + "".join(f"{v},Lecture {v},https://www.youtube.com/watch?v={v},Deep learning 101\n" for v in LECTURES)
    )
    return folder


def stored(settings) -> dict[str, tuple]:
    store = open_store(settings).store
    return {d.id: (d.content, d.meta["video_id"], d.meta["start_s"], tuple(d.embedding or ())) for d in store.filter_documents()}


def test_reindexing_unchanged_input_writes_nothing(course: Path) -> None:
    settings = load_settings(chunk_words=20, chunk_overlap_words=5)
    first = Ingestor(settings).ingest([course])
    assert first.count("added") == 3 and first.chunks_added >= 3
    before = stored(settings)
    second = Ingestor(settings).ingest([course])  # a new process would load the store from disk like this
    assert second.count("unchanged") == 3 and second.chunks_added == 0
    assert stored(settings) == before


def test_a_changed_video_replaces_its_old_chunks(course: Path) -> None:
    settings = load_settings(chunk_words=20, chunk_overlap_words=5)
    Ingestor(settings).ingest([course])
    old_b = {k for k, v in stored(settings).items() if v[1] == "lec-b"}
    (course / "lec-b.srt").write_text(srt("Unigram tokenization starts from a big vocabulary. It removes tokens that matter least."))
    report = Ingestor(settings).ingest([course])
    assert report.count("updated") == 1 and report.count("unchanged") == 2
    after = stored(settings)
    new_b = {k for k, v in after.items() if v[1] == "lec-b"}
    assert new_b and not (new_b & old_b)
    assert all("Unigram" in after[k][0] or "tokens" in after[k][0] for k in new_b)
    assert not any("WordPiece" in v[0] for v in after.values())


def test_interrupted_ingest_finished_by_a_rerun_equals_a_clean_run(course: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    partial = tmp_path / "partial"
    partial.mkdir()
    shutil.copy(course / "lec-a.srt", partial)
    shutil.copy(course / "manifest.csv", partial)
    resumed = load_settings(chunk_words=20, chunk_overlap_words=5, data_dir=tmp_path / "resumed")
    Ingestor(resumed).ingest([partial])  # the run that "died" after one video
    report = Ingestor(resumed).ingest([course])
    assert report.count("unchanged") == 1 and report.count("added") == 2
    clean = load_settings(chunk_words=20, chunk_overlap_words=5, data_dir=tmp_path / "clean")
    Ingestor(clean).ingest([course])
    resumed_docs, clean_docs = stored(resumed), stored(clean)
    assert resumed_docs.keys() == clean_docs.keys()
    for key in clean_docs:
        assert resumed_docs[key][:3] == clean_docs[key][:3]
        assert resumed_docs[key][3] == pytest.approx(clean_docs[key][3], abs=1e-5)


def test_store_file_is_replaced_atomically(course: Path) -> None:
    settings = load_settings(chunk_words=20, chunk_overlap_words=5)
    Ingestor(settings).ingest([course])
    files = sorted(p.name for p in settings.store_dir.iterdir())
    assert files == ["documents.lock", "documents.npz"]  # no temp file left behind (the lock file stays, unlocked)
