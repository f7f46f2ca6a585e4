"""YouTube source against recorded responses served locally, parsed by the real libraries."""

from __future__ import annotations

import subprocess

import pytest

from pipelines.corpus.sources.youtube import InfoJsonFolder, YouTubeSource
from pipelines.freshness.engine import SyncRunner
from pipelines.freshness.faults import VideoFailure
from pipelines.freshness.ledger import Ledger, ledger_status_lines
from tests.fakes.youtube import RecordedYouTube, recorded_info_dir
from tests.pipelines.freshness.conftest import DATA

PLAYLIST = "https://www.youtube.com/playlist?list=PLtestcourse0000000000000000000000"


@pytest.fixture
def youtube(tmp_path):
    with RecordedYouTube(DATA) as server:
        server.info = InfoJsonFolder(recorded_info_dir(DATA, tmp_path / "info", server.base_url))
        yield server


def _source(server: RecordedYouTube) -> YouTubeSource:
    return YouTubeSource("yt-test", PLAYLIST, http_client=server.session(), info_loader=server.info)


def test_listing_reads_the_playlist_through_yt_dlp(youtube):
    refs = {ref.video_id: ref for ref in _source(youtube).list_videos()}
    assert list(refs) == ["HumanCapt01", "AutoOnly001", "NoCaptions1", "PrivateVid1", "AgeLimited1"]
    assert refs["HumanCapt01"].title == "Attention in transformers"
    assert refs["HumanCapt01"].url == "https://www.youtube.com/watch?v=HumanCapt01"
    assert refs["AutoOnly001"].duration_s == 12.0 and refs["AutoOnly001"].series == "Test Lectures"


def test_captions_prefer_human_tracks_and_report_what_is_missing(youtube):
    source = _source(youtube)
    refs = {ref.video_id: ref for ref in source.list_videos()}
    human = source.fetch_captions(refs["HumanCapt01"])
    assert human is not None and human.method == "captions:en:human"
    assert human.raw[-1]["text"].endswith("self-attention & the transformer.")  # XML entity decoded
    auto = source.fetch_captions(refs["AutoOnly001"])
    assert auto is not None and auto.is_generated
    assert source.fetch_captions(refs["NoCaptions1"]) is None  # captions disabled: not an error
    with pytest.raises(VideoFailure, match="private") as private:
        source.fetch_captions(refs["PrivateVid1"])
    assert not private.value.retryable
    with pytest.raises(VideoFailure, match="age-restricted"):
        source.fetch_captions(refs["AgeLimited1"])
    no_auto = YouTubeSource("yt-test", PLAYLIST, http_client=youtube.session(), info_loader=youtube.info, allow_auto_captions=False)
    assert no_auto.fetch_captions(refs["AutoOnly001"]) is None
    assert "POST /youtubei/v1/player" in youtube.requests and "GET /api/timedtext" in youtube.requests


def test_audio_download_and_a_dropped_connection(youtube, short_wav, tmp_path):
    m4a = tmp_path / "talk.m4a"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(short_wav[0]), "-c:a", "aac", "-b:a", "48k", str(m4a)], check=True
    )
    youtube.media["NoCaptions1.m4a"] = m4a.read_bytes()
    youtube.media["AutoOnly001.m4a"] = m4a.read_bytes()
    youtube.truncate.add("AutoOnly001.m4a")
    source = _source(youtube)
    refs = {ref.video_id: ref for ref in source.list_videos()}
    path = source.download_audio(refs["NoCaptions1"], tmp_path / "audio")
    assert path.read_bytes() == m4a.read_bytes()
    info = source.video_info(refs["NoCaptions1"])
    assert source.enrich(refs["NoCaptions1"], info).published == "2026-11-20"
    with pytest.raises(VideoFailure) as dropped:
        source.download_audio(refs["AutoOnly001"], tmp_path / "audio")
    assert dropped.value.retryable and "download failed" in dropped.value.reason
    with pytest.raises(VideoFailure, match="age-restricted") as age:
        source.download_audio(refs["AgeLimited1"], tmp_path / "audio")
    assert not age.value.retryable


def test_sync_indexes_captions_and_transcribes_the_rest_without_blocking_on_failures(youtube, short_wav, settings, tmp_path):
    m4a = tmp_path / "talk.m4a"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(short_wav[0]), "-c:a", "aac", "-b:a", "48k", str(m4a)], check=True
    )
    youtube.media["NoCaptions1.m4a"] = m4a.read_bytes()
    ledger = Ledger.open(settings)
    ledger.add_source("youtube", PLAYLIST)
    runner = SyncRunner(settings, ledger=ledger, youtube_options={"http_client": youtube.session(), "info_loader": youtube.info})
    report = runner.sync_once()
    status = {r.video_id: r for r in report.results}
    assert {v for v, r in status.items() if r.status == "indexed"} == {"HumanCapt01", "AutoOnly001", "NoCaptions1"}
    assert status["PrivateVid1"].status == "failed" and "private" in status["PrivateVid1"].reason
    assert status["AgeLimited1"].status == "failed" and "age-restricted" in status["AgeLimited1"].reason
    assert ledger.stage("HumanCapt01", "transcript").detail.startswith("captions:en:human")
    assert ledger.stage("NoCaptions1", "transcript").detail.startswith("transcribed:")
    assert ledger.video("NoCaptions1").published == "2026-11-20"
    assert not ledger.stage("PrivateVid1", "transcript").retryable
    documents = runner.indexer.bundle.store.filter_documents()
    by_video = {d.meta["video_id"] for d in documents}
    assert by_video == {"HumanCapt01", "AutoOnly001", "NoCaptions1"}
    human = " ".join(d.content for d in documents if d.meta["video_id"] == "HumanCapt01")
    assert "query vector" in human and "a tension" not in human  # the human track, not the ASR one
    lora = " ".join(d.content for d in documents if d.meta["video_id"] == "NoCaptions1").lower()
    assert "adaptation" in lora or "weights" in lora
    lines = "\n".join(ledger_status_lines(settings))
    assert "PrivateVid1 [transcript]" in lines and "will not retry" in lines
    again = SyncRunner(settings, ledger=ledger, youtube_options={"http_client": youtube.session(), "info_loader": youtube.info}).sync_once()
    assert {r.status for r in again.results if r.video_id in by_video} == {"unchanged"}
    assert {r.status for r in again.results if r.video_id not in by_video} == {"waiting"}
