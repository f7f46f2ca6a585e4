"""A local folder of media and transcripts, synced end to end into the index; deleted videos leave it."""

from __future__ import annotations

import shutil

from lecture_audio import encode

from pipelines.freshness.engine import SyncRunner
from pipelines.freshness.ingest import Ingestor
from pipelines.freshness.ledger import Ledger, ledger_status_lines
from pipelines.freshness.scheduler import FreshnessScheduler
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
    assert ledger.stage("lecture000", "summarized").status == "done"  # extractive summary: no LLM configured
    assert ledger.stage("lecture000", "indexed").detail.endswith(f"embedded with {settings.embedding_model}")  # status counts per model
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


def _videos_in_store(runner: SyncRunner) -> set[str]:
    return {d.meta["video_id"] for d in runner.indexer.bundle.store.filter_documents()}


def test_a_scheduled_folder_drops_deleted_videos_but_a_folder_ingested_by_hand_is_never_polled(settings, tmp_path):
    scheduled, by_hand = tmp_path / "scheduled", tmp_path / "by-hand"
    write_lectures(scheduled, 3, paragraphs_each=2)
    kept = write_lectures(by_hand, 2, paragraphs_each=2, prefix="handout")
    ledger = Ledger.open(settings)
    source = ledger.add_source("local", str(scheduled))
    assert Ingestor(settings).ingest([by_hand]).count("added") == 2
    runner = SyncRunner(settings, ledger=ledger)
    first = runner.sync_once()
    assert first.listed == 3 and first.count("indexed") == 3 and first.count("unchanged") == 2
    assert [s.scheduled for s in ledger.sources()] == [True, False]

    (scheduled / "lecture001.srt").unlink()
    shutil.rmtree(by_hand)
    report = runner.sync_once()
    assert report.removed == ["lecture001"] and not report.source_errors
    assert _videos_in_store(runner) == {"lecture000", "lecture002", *kept}
    assert ledger.video("lecture001") is None and ledger.stages_of("lecture001") == {}
    assert not (settings.data_dir / "cleaned" / "lecture001.json").exists()
    assert not (settings.data_dir / "transcripts" / "lecture001.json").exists()
    assert [ref.video_id for ref in ledger.videos()] == [*kept, "lecture000", "lecture002"]
    again = SyncRunner(settings, ledger=ledger)  # a new process reads the saved store: the removal was saved
    assert _videos_in_store(again) == {"lecture000", "lecture002", *kept}

    # A folder that suddenly holds nothing (unmounted?) keeps its videos and says so.
    for path in scheduled.glob("*.srt"):
        path.unlink()
    emptied = runner.sync_once()
    assert emptied.removed == [] and any("holds no videos now" in w for w in emptied.warnings)
    assert _videos_in_store(runner) == {"lecture000", "lecture002", *kept}

    # Only scheduled sources get a poll job; removing a source drops its videos and, on re-registering, its job.
    scheduler = FreshnessScheduler(settings, runner=runner)
    scheduler.scheduler.start(paused=True)
    try:
        assert sorted(scheduler.register_jobs(first_run_now=False)) == sorted([f"poll:{source.source_id}", "worker", "recheck-captions"])
        assert runner.remove_source(source.source_id) == ["lecture000", "lecture002"]
        assert sorted(job.id for job in scheduler.scheduler.get_jobs()) == sorted(
            [f"poll:{source.source_id}", "worker", "recheck-captions"]
        )
        scheduler.register_jobs(first_run_now=False)
        assert sorted(job.id for job in scheduler.scheduler.get_jobs()) == ["recheck-captions", "worker"]
    finally:
        scheduler.stop()
    assert _videos_in_store(runner) == set(kept)
    assert [s.location for s in ledger.sources()] == [str(by_hand.resolve())]
