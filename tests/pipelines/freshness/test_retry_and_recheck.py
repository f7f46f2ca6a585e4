"""The scheduler's jobs against the local YouTube fake: retry backoff on a failing download, then captions
that appear after a video was transcribed replace the Whisper transcript.

Time is the engine's injected clock, so backoff is checked exactly and nothing waits.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import date

import pytest

from pipelines.corpus.sources.youtube import InfoJsonFolder
from pipelines.freshness.engine import SyncRunner
from pipelines.freshness.ledger import Ledger
from pipelines.freshness.scheduler import FreshnessScheduler, poll_job, worker_job
from pipelines.settings import load_settings
from tests.fakes.youtube import RecordedYouTube, recorded_info_dir
from tests.pipelines.freshness.conftest import DATA

PLAYLIST = "https://www.youtube.com/playlist?list=PLtestcourse0000000000000000000000"
LATE_CAPTIONS = (
    '<?xml version="1.0" encoding="utf-8" ?><transcript>'
    '<text start="0.4" dur="3.5">Low-rank adaptation freezes the pretrained weights.</text>'
    '<text start="4.1" dur="4.0">It trains two small matrices whose product is added to each layer.</text>'
    "</transcript>"
)


@pytest.fixture
def youtube(tmp_path):
    """The fake serving a copy of the recordings, so a test can make captions appear later."""
    data = tmp_path / "recordings"
    shutil.copytree(DATA, data)
    with RecordedYouTube(data) as server:
        server.info = InfoJsonFolder(recorded_info_dir(data, tmp_path / "info", server.base_url))
        yield server


def _m4a(wav, target):
    subprocess.run(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i", str(wav), "-c:a", "aac", "-b:a", "48k", str(target)], check=True
    )
    return target.read_bytes()


def _publish_captions(youtube: RecordedYouTube, video_id: str) -> None:
    """What YouTube does a day after upload: the player now lists a human English track."""
    player = json.loads((youtube.data_dir / "player" / "HumanCapt01.json").read_text(encoding="utf-8"))
    player["videoDetails"]["videoId"] = video_id
    tracks = player["captions"]["playerCaptionsTracklistRenderer"]["captionTracks"]
    human = [t for t in tracks if t.get("kind") != "asr"]
    for track in human:
        track["baseUrl"] = track["baseUrl"].replace("HumanCapt01", video_id)
    player["captions"]["playerCaptionsTracklistRenderer"]["captionTracks"] = human
    (youtube.data_dir / "player" / f"{video_id}.json").write_text(json.dumps(player), encoding="utf-8")
    (youtube.data_dir / "timedtext" / f"{video_id}.en.xml").write_text(LATE_CAPTIONS, encoding="utf-8")


def test_failed_downloads_back_off_exponentially_then_late_captions_replace_whisper(youtube, short_wav, transcriber, tmp_path):
    settings = load_settings(
        data_dir=tmp_path / "data",
        retry_base_seconds=60.0,
        retry_max_seconds=150.0,
        retry_max_attempts=4,
        sync_workers=1,
        caption_recheck_days=3,
    )
    now = [1_000_000.0]
    ledger = Ledger.open(settings)
    source = ledger.add_source("youtube", PLAYLIST)
    runner = SyncRunner(
        settings,
        ledger=ledger,
        transcriber=transcriber,
        youtube_options={"http_client": youtube.session(), "info_loader": youtube.info},
        clock=lambda: now[0],
    )
    scheduler = FreshnessScheduler(settings, runner=runner)  # the job functions find this runner by data dir
    data_dir = str(settings.data_dir)
    try:
        assert poll_job(data_dir, source.source_id) == 5
        # NoCaptions1 has no captions and its audio is not served yet: a retryable download failure.
        assert worker_job(data_dir) == 2
        for attempt, wait in [(1, 60.0), (2, 120.0), (3, 150.0)]:  # base, doubled, capped at the maximum
            record = ledger.stage("NoCaptions1", "transcript")
            assert record.status == "failed" and record.retryable and record.attempts == attempt
            assert "download failed" in record.last_error
            assert record.next_attempt_at == now[0] + wait
            now[0] += wait - 1  # one second early: the worker leaves it alone
            waiting = {r.video_id: r for r in runner.process().results}["NoCaptions1"]
            assert waiting.status == "waiting" and waiting.reason.endswith("(next attempt in 1s)")
            assert ledger.stage("NoCaptions1", "transcript").attempts == attempt
            now[0] += 1
            if attempt < 3:
                assert worker_job(data_dir) == 0
        youtube.media["NoCaptions1.m4a"] = _m4a(short_wav[0], tmp_path / "talk.m4a")
        assert worker_job(data_dir) == 1  # the fourth attempt succeeds: Whisper
        record = ledger.stage("NoCaptions1", "transcript")
        assert record.status == "done" and record.attempts == 0 and record.next_attempt_at is None
        assert record.detail.startswith("transcribed:")
        assert ledger.stage("NoCaptions1", "indexed").status == "done"

        # Captions appear. Outside the re-check window nothing is fetched; inside it they replace Whisper's text.
        _publish_captions(youtube, "NoCaptions1")
        assert ledger.video("NoCaptions1").published == "2026-11-20"
        assert runner.recheck_captions(today=date(2026, 11, 24)) == []
        assert ledger.stage("NoCaptions1", "transcript").detail.startswith("transcribed:")
        assert runner.recheck_captions(today=date(2026, 11, 21)) == ["NoCaptions1"]
        assert ledger.stage("NoCaptions1", "transcript").detail == "captions:en:human (re-check)"
        assert ledger.stage("NoCaptions1", "indexed").status == "done"
        text = " ".join(d.content for d in runner.indexer.bundle.store.filter_documents() if d.meta["video_id"] == "NoCaptions1")
        assert "two small matrices" in text
        assert runner.recheck_captions(today=date(2026, 11, 21)) == []  # captions now: nothing left to re-check
    finally:
        scheduler.stop()
