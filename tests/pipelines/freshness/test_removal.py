"""A video that a successful YouTube listing no longer holds leaves the index, the ledger and the data dir."""

from __future__ import annotations

import pytest
from haystack import Document

from pipelines.corpus.sources.video_ref import YOUTUBE, VideoRef
from pipelines.freshness.engine import SyncRunner
from pipelines.freshness.ledger import Ledger
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore
from tests.fakes.youtube import RecordedYouTube, recorded_info_dir
from tests.pipelines.freshness.conftest import DATA
from tests.pipelines.freshness.test_youtube_source import PLAYLIST


@pytest.fixture
def youtube(tmp_path):
    from pipelines.corpus.sources.youtube import InfoJsonFolder

    with RecordedYouTube(DATA) as server:
        server.info = InfoJsonFolder(recorded_info_dir(DATA, tmp_path / "info", server.base_url))
        yield server


def _known_elsewhere(settings, ledger: Ledger, source_id: str, video_ids: list[str]) -> None:
    """Videos an earlier listing held: in the ledger, the index and the data dir."""
    store = PersistentInMemoryDocumentStore(settings.store_dir)
    for video_id in video_ids:
        url = f"https://www.youtube.com/watch?v={video_id}"
        ledger.record_listed(VideoRef(video_id, f"Lecture {video_id}", url, source_id, YOUTUBE, fingerprint=video_id))
        store.write_documents([Document(content=f"what {video_id} taught", meta={"video_id": video_id, "kind": "chunk"})])
        (settings.data_dir / "transcripts").mkdir(parents=True, exist_ok=True)
        (settings.data_dir / "transcripts" / f"{video_id}.json").write_text("{}")
    store.save()


def _runner(settings, ledger: Ledger, youtube: RecordedYouTube) -> SyncRunner:
    return SyncRunner(settings, ledger=ledger, youtube_options={"http_client": youtube.session(), "info_loader": youtube.info})


def test_a_youtube_video_gone_from_a_successful_listing_is_removed(youtube, settings) -> None:
    ledger = Ledger.open(settings)
    source = ledger.add_source(YOUTUBE, PLAYLIST)
    _known_elsewhere(settings, ledger, source.source_id, ["DeletedVid1"])
    report = _runner(settings, ledger, youtube).poll()
    assert report.source_errors == []
    assert report.removed == ["DeletedVid1"]
    assert ledger.video("DeletedVid1") is None
    assert not (settings.data_dir / "transcripts" / "DeletedVid1.json").exists()
    assert PersistentInMemoryDocumentStore(settings.store_dir).count_documents() == 0


def test_a_youtube_listing_missing_most_videos_is_taken_as_incomplete(youtube, settings) -> None:
    ledger = Ledger.open(settings)
    source = ledger.add_source(YOUTUBE, PLAYLIST)
    gone = [f"Earlier0000{n}" for n in range(6)]  # more than the five the recorded playlist lists
    _known_elsewhere(settings, ledger, source.source_id, gone)
    report = _runner(settings, ledger, youtube).poll()
    assert report.removed == []
    assert any("taken as incomplete" in warning for warning in report.warnings)
    assert all(ledger.video(video_id) is not None for video_id in gone)
