"""``course-ta ingest PATH... [--manifest CSV] [--rebuild]``: index transcript files and folders.

Exit codes: 0 when something was ingested (failures are listed), 1 when nothing could be, 2 when
no path given exists or the index cannot be used (printed as one line with its fix), 130
after Ctrl-C, once the videos finished before it are saved.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.cli.sync import BarProgress
from pipelines.corpus.discovery import MEDIA_SUFFIXES
from pipelines.corpus.transcripts import TRANSCRIPT_SUFFIXES
from pipelines.freshness.ingest import Ingestor, IngestReport
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``ingest`` to the command line."""
    parser = subcommands.add_parser("ingest", help="index transcript files or folders (SRT, WebVTT, JSON, text)")
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="transcript files or folders")
    parser.add_argument("--manifest", type=Path, help="CSV with video_id,title,url (default: manifest.csv beside the files)")
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="recreate the embedded index from the transcripts the data dir keeps (repairs a damaged index), then ingest any PATH",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ingest (after a rebuild when asked), print the report; exit 1 only when nothing at all could be ingested."""
    paths: list[Path] = list(args.paths)
    if not paths and not args.rebuild:
        print("course-ta ingest: give one or more transcript files or folders (or --rebuild)", file=sys.stderr)
        return 2
    missing = [path for path in paths if not path.exists() and not path.is_symlink()]
    if paths and len(missing) == len(paths):  # nothing to read at all: a typo, not a batch with one bad entry
        print(f"course-ta ingest: {', '.join(str(p) for p in missing)}: no such file or folder", file=sys.stderr)
        return 2
    settings = load_settings()
    progress = BarProgress(enabled=not args.no_progress and sys.stderr.isatty())
    ingestor = Ingestor(settings, rebuild=args.rebuild)
    try:
        if args.rebuild:
            rebuilt = ingestor.rebuild(progress=progress)
            print_report(rebuilt, verb="rebuilt the index from")
            if not paths:
                return 0
        report = ingestor.ingest(paths, manifest=args.manifest, progress=progress)
    except KeyboardInterrupt:
        print(
            f"course-ta: interrupted; {ingestor.saved_videos} video(s) finished before it are saved "
            "(run the same command again to index the rest)",
            file=sys.stderr,
        )
        return 130
    if not report.outcomes and not report.removed:
        print_warnings(report)
        suffixes = ", ".join(TRANSCRIPT_SUFFIXES + MEDIA_SUFFIXES)
        print(
            f"course-ta ingest: no transcripts or media in {', '.join(str(p) for p in paths)} (files read: {suffixes}; "
            "media needs `course-ta transcribe` first)",
            file=sys.stderr,
        )
        return 1
    print_report(report)
    return 0 if report.succeeded or not report.outcomes else 1


def print_warnings(report: IngestReport) -> None:
    """The report's warnings about its input, on stderr."""
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)


def print_report(report: IngestReport, verb: str = "ingested") -> None:
    """Warnings and failures on stderr, one line per removed video and the summary line on stdout."""
    print_warnings(report)
    for outcome in report.outcomes:
        name = outcome.path.name if outcome.path else outcome.video_id
        if outcome.status == "failed":
            print(f"failed: {name}: {outcome.reason}", file=sys.stderr)
        for warning in outcome.warnings:
            print(f"warning: {name}: {warning}", file=sys.stderr)
    for video_id in report.removed:
        print(f"removed: {video_id} (its files are gone)")
    print(
        f"{verb} {len(report.outcomes)} video(s) in {report.seconds:.1f}s: "
        f"{report.count('added')} added, {report.count('updated')} updated, "
        f"{report.count('unchanged')} unchanged, {report.count('failed')} failed; "
        f"{report.chunks_added} chunk(s) embedded"
    )
