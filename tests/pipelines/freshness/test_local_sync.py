"""A local folder of media and transcripts, synced end to end into the index."""

from __future__ import annotations

from lecture_audio import encode

from pipelines.freshness.engine import SyncRunner
from pipelines.freshness.ledger import Ledger, ledger_status_lines
from tests.pipelines.freshness.lectures import write_lectures


def test_local_folder_of_media_and_transcripts_end_to_end(settings, short_wav, tmp_path):
    folder = tmp_path / "course"
    write_lectures(folder, 2)
    encode(short_wav[0], folder / "talk-lora.mp3", ["-b:a", "48k"])
    (folder / "empty.webm").write_bytes(b"")
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\xde\xad" * 400)
    ledger = Ledger.open(settings)
    ledger.add_source("local", str(folder))
    runner = SyncRunner(settings, ledger=ledger)
    report = runner.sync_once()
    status = {r.video_id: r for r in report.results}
    assert {v for v, r in status.items() if r.status == "indexed"} == {"lecture000", "lecture001", "talk-lora"}
    assert status["empty"].status == "failed" and "empty" in status["empty"].reason
    assert status["broken"].status == "failed" and "broken.mp4" in status["broken"].reason
    assert ledger.stage("talk-lora", "transcript").detail.startswith("transcribed:")
    assert ledger.stage("lecture000", "transcript").detail.startswith("file:lecture000.srt")
    assert ledger.stage("lecture000", "summarized").status == "done"  # extractive summary (issue 4)
    assert ledger.stage("lecture000", "indexed").detail.endswith(f"embedded with {settings.embedding_model}")  # which model (issue 8)
    documents = runner.indexer.bundle.store.filter_documents()
    lora = [d for d in documents if d.meta["video_id"] == "talk-lora"]
    assert lora and "rank" in " ".join(d.content for d in lora).lower()
    assert all(d.meta["start_s"] is not None and d.meta["url"].startswith("file://") for d in lora)
    assert {d.meta["title"] for d in documents if d.meta["video_id"] == "lecture001"} == {
        "Lecture 1: The query and the key decide how much attention one word pays to another"
    }
    lines = ledger_status_lines(settings)
    assert any("indexed" in line and "done 3" in line for line in lines)
    assert f"  embedded with {settings.embedding_model}: 3 video(s)" in lines
    assert any("broken [transcript]" in line and "will not retry" in line for line in lines)

    # Nothing changed: nothing is redone. One transcript edited: only that video is re-indexed.
    again = SyncRunner(settings, ledger=ledger).sync_once()
    assert {r.video_id for r in again.results if r.status == "indexed"} == set()
    srt = folder / "lecture001.srt"
    srt.write_text(srt.read_text(encoding="utf-8").replace("attention", "focus"), encoding="utf-8")
    changed = SyncRunner(settings, ledger=ledger).sync_once()
    assert {r.video_id for r in changed.results if r.status == "indexed"} == {"lecture001"}
    store = SyncRunner(settings, ledger=ledger).indexer.bundle.store
    lecture = " ".join(d.content for d in store.filter_documents() if d.meta["video_id"] == "lecture001")
    assert "focus" in lecture and "attention" not in lecture
