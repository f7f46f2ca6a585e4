"""``course-ta schedule`` follows the ``sources`` each course lists in courses.toml: checked as ``add-source`` checks
them, recorded in the course's own ledger, polled; a bad one is one log line and skipped while the rest go on."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from bot.cli.schedule import _schedulers
from pipelines.corpus.sources.registry import SourceLocationError, check_location
from pipelines.freshness.ledger import Ledger
from pipelines.settings import load_settings

PLAYLIST = "https://www.youtube.com/playlist?list=PLoROMvodv4rOSH4v6133s9LFPRHjEmbmJ"
NOT_YOUTUBE = "https://vimeo.com/123456"


def test_sources_listed_in_the_courses_file_are_followed_by_each_course_scheduler(caplog: pytest.LogCaptureFixture) -> None:
    data = Path(os.environ["COURSE_TA_DATA_DIR"])
    (data / "lectures" / "nlp").mkdir(parents=True)
    elsewhere = data.parent / "math-lectures"
    elsewhere.mkdir()
    (data / "courses.toml").write_text(
        f"""\
[[course]]
id = "nlp"
title = "NLP"
sources = ["lectures/nlp", "{PLAYLIST}", "{NOT_YOUTUBE}", "lectures/missing", "https://teacher:hunter22@www.youtube.com/@nlp"]

[[course]]
id = "math"
title = "Math"
sources = ["{elsewhere}"]

[[course]]
id = "art"
title = "Art"
sources = ["{PLAYLIST}"]
paused = true
""",
        encoding="utf-8",
    )
    with pytest.raises(SourceLocationError) as refused:  # what `course-ta add-source` says about the same location
        check_location([NOT_YOUTUBE])
    caplog.set_level(logging.INFO)
    schedulers = _schedulers(load_settings(deployment=True))
    try:
        by_course = {s.settings.course: s for s in schedulers}
        assert sorted(by_course) == ["math", "nlp"]  # a paused course is not scheduled
        nlp = by_course["nlp"].runner.ledger.sources(scheduled_only=True)
        # A relative folder is the courses file's neighbour, wherever the service was started from.
        assert [(s.kind, s.location) for s in nlp] == [("local", str((data / "lectures" / "nlp").resolve())), ("youtube", PLAYLIST)]
        math = by_course["math"].runner.ledger.sources(scheduled_only=True)
        assert [s.location for s in math] == [str(elsewhere.resolve())]
        jobs = by_course["nlp"].register_jobs(first_run_now=False)
        assert {f"poll:{s.source_id}" for s in nlp} <= set(jobs)
    finally:
        for scheduler in schedulers:
            scheduler.stop()
            scheduler.runner.ledger.close()

    skipped = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "skipped" in r.getMessage()]
    assert len(skipped) == 3, skipped
    assert NOT_YOUTUBE in skipped[0] and str(refused.value) in skipped[0] and "course nlp" in skipped[0]
    assert "lectures/missing" in skipped[1] and "no such folder" in skipped[1]
    assert "www.youtube.com/@nlp" in skipped[2] and "hunter22" not in caplog.text  # a password in the file is never logged
    assert all("\n" not in line for line in skipped)
    # The art course's ledger was never touched: paused courses are not synced.
    assert not (data / "courses" / "art" / "ledger.sqlite").exists()


def test_listing_again_at_the_next_start_adds_nothing_and_keeps_hand_added_sources() -> None:
    data = Path(os.environ["COURSE_TA_DATA_DIR"])
    data.mkdir(parents=True)
    (data / "courses.toml").write_text(f'[[course]]\nid = "nlp"\ntitle = "NLP"\nsources = ["{PLAYLIST}"]\n', encoding="utf-8")
    base = load_settings(deployment=True)
    (data / "courses" / "nlp").mkdir(parents=True)
    ledger = Ledger(base.data_dir / "courses" / "nlp" / "ledger.sqlite")
    hand = ledger.add_source("youtube", "https://www.youtube.com/@3blue1brown")  # as `course-ta add-source --course nlp` records it
    ledger.close()
    for _ in range(2):  # two starts of the scheduler
        (scheduler,) = _schedulers(base)
        sources = scheduler.runner.ledger.sources(scheduled_only=True)
        scheduler.stop()
        scheduler.runner.ledger.close()
        assert [s.location for s in sources] == [hand.location, PLAYLIST]
