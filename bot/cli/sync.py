"""``course-ta sync [--once]``: list every source and bring every video up to date.

``--once`` makes one pass and exits (what cron or a CI job wants); without it the pass repeats
every ``COURSE_TA_WORKER_INTERVAL_SECONDS`` until interrupted (``course-ta schedule`` is the full
scheduler with polling intervals and caption re-checks).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tqdm import tqdm

from pipelines.corpus.sources.video_ref import VideoRef
from pipelines.freshness.engine import WORK_STAGES, Progress, SyncReport, SyncRunner, VideoResult
from pipelines.settings import load_settings


class BarProgress(Progress):
    """The progress display of ``sync`` and ``ingest``: videos done, and the stages of the video in progress."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.videos: tqdm | None = None
        self.stages: tqdm | None = None
        self._lock = threading.Lock()

    def begin(self, total: int) -> None:
        """Open both bars for a pass over ``total`` videos."""
        self.videos = tqdm(total=total, desc="videos", unit="video", disable=not self.enabled, file=sys.stderr, position=0)
        self.stages = tqdm(total=len(WORK_STAGES), desc="stage", disable=not self.enabled, file=sys.stderr, position=1, leave=False)

    def video_started(self, ref: VideoRef) -> None:
        """Reset the stage bar for this video."""
        with self._lock:
            if self.stages is not None:
                self.stages.reset(total=len(WORK_STAGES))
                self.stages.set_description(ref.video_id)

    def stage(self, ref: VideoRef, stage: str) -> None:
        """Show the stage about to run."""
        with self._lock:
            if self.stages is not None:
                self.stages.set_postfix_str(stage)
                if stage != WORK_STAGES[0]:
                    self.stages.update(1)

    def video_done(self, ref: VideoRef, outcome: VideoResult) -> None:
        """Count the video and show how it ended."""
        with self._lock:
            if self.stages is not None:
                self.stages.update(self.stages.total - self.stages.n)
            if self.videos is not None:
                self.videos.update(1)
                self.videos.set_postfix_str(f"{ref.video_id}: {outcome.status}")

    def end(self) -> None:
        """Close both bars."""
        for bar in (self.stages, self.videos):
            if bar is not None:
                bar.close()
        self.videos = self.stages = None


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``sync`` to the command line."""
    parser = subcommands.add_parser("sync", help="fetch, transcribe and index every source's new or changed videos")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Poll and process until interrupted (or once); exit 1 when nothing could be listed or everything failed."""
    settings = load_settings()
    progress = BarProgress(enabled=not args.no_progress and sys.stderr.isatty())
    runner = SyncRunner(settings, progress=progress)
    if not runner.ledger.sources(scheduled_only=True):
        print("course-ta: no sources yet; add one with `course-ta add-source URL|PATH`", file=sys.stderr)
        return 1
    stop = threading.Event()

    def request_stop(signum: int, frame: object) -> None:
        stop.set()
        runner.stop_event.set()

    previous = signal.signal(signal.SIGTERM, request_stop)
    try:
        while True:
            report = runner.poll()
            runner.process(report=report)
            print_report(report)
            if args.once or stop.wait(settings.worker_interval_seconds):
                break
    except KeyboardInterrupt:
        runner.stop_event.set()
        runner.flush()
        print("course-ta: interrupted; finished work is saved, run sync again to continue", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        runner.flush()
    failed_everything = report.results and all(r.status == "failed" for r in report.results)
    return 1 if (report.source_errors and not report.listed) or failed_everything else 0


def print_report(report: SyncReport) -> None:
    """Problems on stderr, removed videos and the one summary line on stdout."""
    for error in report.source_errors:
        print(f"source failed: {error}", file=sys.stderr)
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for result in report.results:
        if result.status in ("failed", "waiting"):
            print(f"{result.status}: {result.video_id}: {result.describe()}", file=sys.stderr)
    for video_id in report.removed:
        print(f"removed: {video_id} (its files are gone from its source)")
    print(
        f"sync: {report.listed} listed ({report.new_or_changed} new or changed); "
        f"{report.count('indexed')} indexed, {report.count('unchanged')} unchanged, "
        f"{report.count('failed')} failed, {report.count('waiting')} waiting"
    )
