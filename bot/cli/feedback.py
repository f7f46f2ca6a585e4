"""``course-ta feedback export``: the students' 👍/👎 with question, answer, citations and course, for evaluation.

Student ids are exported as pseudonyms (``bot/answering/privacy.py``), and CSV cells are safe to open
in a spreadsheet (a question typed as a formula stays text).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.answering.feedback import EXPORT_FORMATS, AnswerLog, export_votes
from bot.answering.privacy import Pseudonyms
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``feedback export`` to the CLI."""
    parser = subcommands.add_parser("feedback", help="export the feedback students gave on answers")
    actions = parser.add_subparsers(dest="feedback_action", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write every vote with its question, answer, citations and course")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="jsonl", help="jsonl (default) or csv")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    export.add_argument("--since", help="only votes on or after this date (YYYY-MM-DD, UTC)")
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Write the votes to ``--output`` or stdout; 2 for a malformed ``--since``."""
    since = None
    if args.since:
        try:
            since = datetime.strptime(args.since, "%Y-%m-%d").replace(tzinfo=UTC).timestamp()
        except ValueError:
            print(f"course-ta feedback export: --since must be YYYY-MM-DD (got {args.since!r})", file=sys.stderr)
            return 2
    settings = load_settings(deployment=True)  # the answer log and console are the deployment's, shared by its courses
    if not settings.feedback_db_path.exists():
        print(f"course-ta feedback export: no feedback recorded yet ({settings.feedback_db_path} does not exist)", file=sys.stderr)
        records = []
    else:
        records = AnswerLog(settings.feedback_db_path).votes(since)
    text = export_votes(records, args.format, pseudonym=Pseudonyms(settings.data_dir))
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
        print(f"{args.output}: {len(records)} votes", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
