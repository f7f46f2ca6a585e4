"""``course-ta ingest PATH... [--manifest CSV]``: index transcript files and folders."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tqdm import tqdm

from pipelines.freshness.ingest import Ingestor, IngestReport
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("ingest", help="index transcript files or folders (SRT, WebVTT, JSON, text)")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="transcript files or folders")
    parser.add_argument("--manifest", type=Path, help="CSV with video_id,title,url (default: manifest.csv beside the files)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    ingestor = Ingestor(settings)
    show = not args.no_progress and sys.stderr.isatty()

    def progress(items):
        return tqdm(list(items), desc="ingest", unit="video", disable=not show, file=sys.stderr)

    report = ingestor.ingest(list(args.paths), manifest=args.manifest, progress=progress)
    print_report(report)
    return 0 if report.succeeded else 1


def print_report(report: IngestReport) -> None:
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for outcome in report.outcomes:
        name = outcome.path.name if outcome.path else outcome.video_id
        if outcome.status == "failed":
            print(f"failed: {name}: {outcome.reason}", file=sys.stderr)
        for warning in outcome.warnings:
            print(f"warning: {name}: {warning}", file=sys.stderr)
    print(
        f"ingested {len(report.outcomes)} video(s) in {report.seconds:.1f}s: "
        f"{report.count('added')} added, {report.count('updated')} updated, "
        f"{report.count('unchanged')} unchanged, {report.count('failed')} failed; "
        f"{report.chunks_added} chunk(s) embedded"
    )
