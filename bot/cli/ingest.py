"""``course-ta ingest PATH... [--manifest CSV]``: index transcript files and folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.sync import BarProgress
from pipelines.freshness.ingest import Ingestor, IngestReport
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``ingest`` to the command line."""
    parser = subcommands.add_parser("ingest", help="index transcript files or folders (SRT, WebVTT, JSON, text)")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="transcript files or folders")
    parser.add_argument("--manifest", type=Path, help="CSV with video_id,title,url (default: manifest.csv beside the files)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ingest, print the report; exit 1 only when nothing at all could be ingested."""
    settings = load_settings()
    progress = BarProgress(enabled=not args.no_progress and sys.stderr.isatty())
    report = Ingestor(settings).ingest(list(args.paths), manifest=args.manifest, progress=progress)
    print_report(report)
    return 0 if report.succeeded else 1


def print_report(report: IngestReport) -> None:
    """Warnings and failures on stderr, one line per removed video and the summary line on stdout."""
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for outcome in report.outcomes:
        name = outcome.path.name if outcome.path else outcome.video_id
        if outcome.status == "failed":
            print(f"failed: {name}: {outcome.reason}", file=sys.stderr)
        for warning in outcome.warnings:
            print(f"warning: {name}: {warning}", file=sys.stderr)
    for video_id in report.removed:
        print(f"removed: {video_id} (its files are gone)")
    print(
        f"ingested {len(report.outcomes)} video(s) in {report.seconds:.1f}s: "
        f"{report.count('added')} added, {report.count('updated')} updated, "
        f"{report.count('unchanged')} unchanged, {report.count('failed')} failed; "
        f"{report.chunks_added} chunk(s) embedded"
    )
