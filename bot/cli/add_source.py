"""``course-ta add-source URL|PATH``: remember a YouTube channel/playlist/video list or a local folder."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.corpus.sources.registry import kind_of, normalise_location
from pipelines.corpus.sources.video_ref import LOCAL
from pipelines.freshness.ledger import Ledger
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("add-source", help="add a YouTube channel/playlist/video URL or a local media folder to sync")
    parser.add_argument("location", nargs="+", metavar="URL|PATH", help="channel or playlist URL, video URL(s), or a folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    raw = " ".join(args.location)
    kind = kind_of(args.location[0])
    location = normalise_location(raw if kind != LOCAL else args.location[0])
    if kind == LOCAL and not Path(location).exists():
        print(f"course-ta: no such file or folder: {location}", file=sys.stderr)
        return 1
    ledger = Ledger.open(settings)
    try:
        known = {s.source_id for s in ledger.sources()}
        source = ledger.add_source(kind, location)
    finally:
        ledger.close()
    verb = "already added" if source.source_id in known else "added"
    print(f"{verb} {source.kind} source {source.source_id}: {source.location}")
    print("run `course-ta sync --once` to fetch it now, or `course-ta schedule` to keep it fresh")
    return 0
