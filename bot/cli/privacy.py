"""``course-ta privacy``: forget one student everywhere, or apply the retention period now."""

from __future__ import annotations

import argparse

from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``privacy forget`` and ``privacy purge`` to the CLI."""
    parser = subcommands.add_parser("privacy", help="delete a student's records, or old question texts")
    actions = parser.add_subparsers(dest="privacy_action", required=True, metavar="ACTION")
    forget = actions.add_parser("forget", help="delete every record of one student (answers, votes, escalations)")
    forget.add_argument("user", metavar="USER", help="the student's Slack or Discord id, or its pseudonym (s-…) from an export")
    forget.set_defaults(handler=run_forget)
    purge = actions.add_parser("purge", help="blank texts older than COURSE_TA_CONSOLE_RETENTION_DAYS now")
    purge.set_defaults(handler=run_purge)


def run_forget(args: argparse.Namespace) -> int:
    """Delete the student's rows and say how many went."""
    from bot.answering.privacy import Pseudonyms, forget_student
    from pipelines.courses.routing import forget_routes

    settings = load_settings(deployment=True)  # the answer log and console are the deployment's, shared by its courses
    removed = forget_student(settings.feedback_db_path, Pseudonyms(settings.data_dir), args.user)
    routes = forget_routes(settings.data_dir, args.user)  # the course remembered for their direct messages
    if routes:
        removed.counts["remembered courses"] = routes
    shown = ", ".join(f"{count} {table}" for table, count in removed.counts.items()) or "nothing was recorded"
    print(f"forgot {args.user}: {shown}")
    return 0


def run_purge(args: argparse.Namespace) -> int:
    """Apply the retention period now (the console also does it hourly)."""
    from bot.answering.privacy import Pseudonyms, apply_retention

    settings = load_settings(deployment=True)  # the answer log and console are the deployment's, shared by its courses
    days = settings.console_retention_days
    if days == 0:
        print("retention is off (COURSE_TA_CONSOLE_RETENTION_DAYS=0): nothing deleted")
        return 0
    removed = apply_retention(settings.feedback_db_path, Pseudonyms(settings.data_dir), days)
    shown = ", ".join(f"{count} {table}" for table, count in removed.counts.items()) or "nothing"
    print(f"texts older than {days} days deleted: {shown}")
    return 0
