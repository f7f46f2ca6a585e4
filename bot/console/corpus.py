"""The corpus page's data: every video with its ledger stages, failures and reasons, the last sync, and retries.

The ledger is only read here (``pipelines/freshness/ledger.py``); a retry is the sync engine's own
``process([video], retry_now=True)``, run in one background thread so the page answers at once and
two retries never run side by side.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipelines.freshness.ledger import FAILED, STAGES, Ledger, StageRecord
from pipelines.settings import Settings

logger = logging.getLogger(__name__)


@dataclass
class VideoRow:
    """One video of the corpus as the ledger knows it."""

    video_id: str
    title: str
    url: str
    source_id: str
    stages: dict[str, str]
    failures: list[StageRecord] = field(default_factory=list)
    last_finished: float | None = None

    @property
    def stage(self) -> str:
        """The furthest stage done (or skipped), or where it failed."""
        if self.failures:
            return f"failed at {self.failures[0].stage}"
        reached = [stage for stage in STAGES if self.stages.get(stage) in ("done", "skipped")]
        return reached[-1] if reached else "listed"


@dataclass
class CorpusView:
    """Everything the corpus page shows."""

    videos: list[VideoRow]
    counts: dict[str, dict[str, int]]
    failures: list[StageRecord]
    last_sync: float | None
    sources: list[Any]


def corpus_view(settings: Settings) -> CorpusView:
    """Read the ledger (nothing is created when there is none yet)."""
    if not settings.ledger_path.exists():
        return CorpusView([], {stage: {} for stage in STAGES}, [], None, [])
    ledger = Ledger(settings.ledger_path)
    try:
        stages = ledger.all_stages()
        failures = ledger.failures()
        rows = []
        for ref in ledger.videos():
            records = stages.get(ref.video_id, {})
            finished = [r.finished_at for r in records.values() if r.finished_at]
            rows.append(
                VideoRow(
                    ref.video_id,
                    ref.title or ref.video_id,
                    ref.url,
                    ref.source_id,
                    {stage: record.status for stage, record in records.items()},
                    [r for r in failures if r.video_id == ref.video_id],
                    max(finished) if finished else None,
                )
            )
        finished_all = [row.last_finished for row in rows if row.last_finished]
        return CorpusView(rows, ledger.counts(), failures, max(finished_all) if finished_all else None, ledger.sources())
    finally:
        ledger.close()


class Retrier:
    """Runs one retry at a time in the background; remembers the last outcome per video for the page."""

    def __init__(self, settings: Settings, runner_factory: Callable[[Settings], Any] | None = None) -> None:
        self.settings = settings
        self.runner_factory = runner_factory
        self.outcomes: dict[str, str] = {}
        self._lock = threading.Lock()
        self._busy: str | None = None

    def request(self, video_id: str) -> bool:
        """Start retrying ``video_id`` now; False while another retry is running."""
        with self._lock:
            if self._busy is not None:
                return False
            self._busy = video_id
            self.outcomes[video_id] = "retrying\u2026"
        threading.Thread(target=self._run, args=(video_id,), name="console-retry", daemon=True).start()
        return True

    @property
    def busy(self) -> str | None:
        """The video being retried now, if any."""
        return self._busy

    def _run(self, video_id: str) -> None:
        try:
            if self.runner_factory is not None:
                runner = self.runner_factory(self.settings)
            else:
                from pipelines.freshness.engine import SyncRunner

                runner = SyncRunner(self.settings)
            report = runner.process([video_id], retry_now=True)
            runner.flush()
            statuses = [result.status for result in report.results if result.video_id == video_id]
            outcome = statuses[0] if statuses else "not listed"
        except Exception as error:  # the page shows the outcome; the log has the trace
            logger.exception("retrying %s failed", video_id)
            outcome = f"{FAILED}: {type(error).__name__}"
        with self._lock:
            self.outcomes[video_id] = outcome
            self._busy = None
