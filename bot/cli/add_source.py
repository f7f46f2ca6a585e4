"""``course-ta add-source URL|PATH`` and ``course-ta remove-source SOURCE``: what the scheduler keeps fresh."""

from __future__ import annotations

import argparse
import sys

from pipelines.corpus.sources.registry import SourceLocationError, check_location, normalise_location
from pipelines.freshness.ledger import Ledger
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``add-source`` and ``remove-source`` to the command line."""
    parser = subcommands.add_parser("add-source", help="add a YouTube channel/playlist/video URL or a local media folder to sync")
    parser.add_argument("location", nargs="+", metavar="URL|PATH", help="channel or playlist URL, video URL(s), or a folder")
    parser.set_defaults(handler=run)
    remove = subcommands.add_parser("remove-source", help="stop syncing a source and remove its videos from the index")
    remove.add_argument("source", nargs="+", metavar="ID|URL|PATH", help="a source id as `course-ta status` shows it, or its location")
    remove.set_defaults(handler=run_remove)


def run(args: argparse.Namespace) -> int:
    """Record the source as scheduled (a folder ingested by hand before starts being polled); exit 2 for a location it cannot follow."""
    try:
        kind, location = check_location(list(args.location))
    except SourceLocationError as error:
        print(f"course-ta: add-source: {error}", file=sys.stderr)
        return 2
    settings = load_settings()
    ledger = Ledger.open(settings)
    try:
        known = {s.source_id for s in ledger.sources(scheduled_only=True)}
        source = ledger.add_source(kind, location)
    finally:
        ledger.close()
    verb = "already added" if source.source_id in known else "added"
    print(f"{verb} {source.kind} source {source.source_id}: {source.location}")
    print("run `course-ta sync --once` to fetch it now, or `course-ta schedule` to keep it fresh")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    """Forget a source and take its videos out of the index; a running scheduler drops its poll job on restart."""
    from pipelines.freshness.engine import SyncRunner

    settings = load_settings()
    wanted = " ".join(args.source)
    runner = SyncRunner(settings)
    try:
        candidates = {wanted}
        if len(args.source) == 1:
            candidates.add(normalise_location(wanted))
        source = next((s for s in runner.ledger.sources() if s.source_id in candidates or s.location in candidates), None)
        if source is None:
            print(f"course-ta: no source {wanted} (`course-ta status` lists them)", file=sys.stderr)
            return 1
        removed = runner.remove_source(source.source_id)
    finally:
        runner.ledger.close()
    print(f"removed {source.kind} source {source.source_id}: {source.location}; {len(removed)} video(s) removed from the index")
    return 0
