"""``course-ta remove VIDEO...``: take videos out of the index, the ledger and the data dir.

The ids are those ``course-ta status`` and citations show (a file's name up to its first dot).
Every id is checked first: one unknown id removes nothing and exits 2, so a typo never half-runs.
A video whose file is still in a folder that is synced or ingested again comes back; delete or
move its file too to keep it out.
"""

from __future__ import annotations

import argparse
import sys

from pipelines.freshness.engine import SyncRunner
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``remove`` to the command line."""
    parser = subcommands.add_parser("remove", help="remove videos from the index, the ledger and the data dir")
    parser.add_argument("video_ids", nargs="+", metavar="VIDEO", help="video ids as `course-ta status` and citations show them")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Remove the videos; exit 2 (removing nothing) when any id is unknown."""
    runner = SyncRunner(load_settings())
    wanted = list(dict.fromkeys(args.video_ids))
    in_ledger = {ref.video_id for ref in runner.ledger.videos()}
    in_index = set(runner.bundle.ids_by_video())
    unknown = [video_id for video_id in wanted if video_id not in in_ledger and video_id not in in_index]
    if unknown:
        print(
            f"course-ta remove: unknown video id(s): {', '.join(unknown)} (nothing removed; `course-ta status` lists the sources, "
            "citations and `course-ta ask --json` show video ids)",
            file=sys.stderr,
        )
        return 2
    for video_id in runner.remove_videos(wanted):
        print(f"removed: {video_id}")
    return 0
