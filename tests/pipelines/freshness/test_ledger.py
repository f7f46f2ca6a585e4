"""The ledger: one-shot and scheduled sources, removing videos, and ledgers written before those existed."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from pipelines.corpus.sources.video_ref import LOCAL, VideoRef
from pipelines.freshness.ledger import Ledger

# The tables as the first release wrote them: no ``scheduled`` source flag, no stage warnings.
FIRST_RELEASE = """
CREATE TABLE sources (source_id TEXT PRIMARY KEY, kind TEXT NOT NULL, location TEXT NOT NULL, added_at REAL NOT NULL);
CREATE TABLE videos (video_id TEXT PRIMARY KEY, source_id TEXT NOT NULL, ref_json TEXT NOT NULL, fingerprint TEXT NOT NULL,
    published TEXT, listed_at REAL NOT NULL);
CREATE TABLE stages (video_id TEXT NOT NULL, stage TEXT NOT NULL, status TEXT NOT NULL, input_hash TEXT, output_hash TEXT,
    detail TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, retryable INTEGER NOT NULL DEFAULT 1, next_attempt_at REAL,
    started_at REAL, finished_at REAL, seconds REAL, PRIMARY KEY (video_id, stage));
INSERT INTO sources VALUES ('local-old', 'local', '/courses/old', 1.0);
INSERT INTO stages (video_id, stage, status, input_hash, output_hash) VALUES ('v1', 'cleaned', 'done', 'in', 'out');
"""


def test_a_ledger_from_the_first_release_opens_with_its_sources_still_scheduled(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with sqlite3.connect(path) as db:
        db.executescript(FIRST_RELEASE)
    ledger = Ledger(path)
    assert [(s.source_id, s.scheduled) for s in ledger.sources(scheduled_only=True)] == [("local-old", True)]
    record = ledger.stage("v1", "cleaned")
    assert record is not None and record.satisfied_by("in") and record.warnings == ()
    ledger.finish("v1", "cleaned", "in2", "out2", "2 sentences", warnings=["collapsed 1 repeated cue(s)"])
    assert Ledger(path).stage("v1", "cleaned").warnings == ("collapsed 1 repeated cue(s)",)


def test_one_shot_sources_become_scheduled_when_added_but_never_the_reverse(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    by_hand = ledger.add_source(LOCAL, "/courses/a", scheduled=False)
    assert not by_hand.scheduled and ledger.sources(scheduled_only=True) == []
    assert ledger.add_source(LOCAL, "/courses/a").scheduled
    assert ledger.add_source(LOCAL, "/courses/a", scheduled=False).scheduled
    assert [s.source_id for s in ledger.sources(scheduled_only=True)] == [by_hand.source_id]

    ref = VideoRef("v1", "Title", "file:///courses/a/v1.srt", by_hand.source_id, LOCAL, fingerprint="f1")
    assert ledger.record_listed(ref)
    ledger.finish("v1", "transcript", "in", "out")
    ledger.remove_video("v1")
    assert ledger.video("v1") is None and ledger.stages_of("v1") == {} and ledger.video_count() == 0
    assert ledger.record_listed(ref)  # listed again later: new again
    assert ledger.remove_source(by_hand.source_id) and not ledger.remove_source(by_hand.source_id)
