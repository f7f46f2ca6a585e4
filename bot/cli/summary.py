"""``course-ta summary VIDEO_ID [--json]``: a video's summary and salient points with deep links.

Summaries are built by ``course-ta ingest`` and ``course-ta sync`` (LLM when configured, else
extractive) and stored under the data dir; this command only reads them.
"""

from __future__ import annotations

import argparse
import json
import sys

from pipelines.domain import deep_link, format_timestamp
from pipelines.llm.summaries import VideoSummary, list_summaries, load_summary
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta summary`` to the CLI."""
    parser = subcommands.add_parser("summary", help="show a video's summary and salient points")
    parser.add_argument("video_id", nargs="?", help="the video id (omit with --list)")
    parser.add_argument("--json", action="store_true", help="print the stored summary as JSON")
    parser.add_argument("--list", action="store_true", help="list the videos that have a summary")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the stored summary (text or JSON) or the list; 1 when there is none, 2 for bad input."""
    settings = load_settings()
    if args.list:
        for video_id in list_summaries(settings):
            print(video_id)
        return 0
    if not args.video_id:
        print("course-ta summary: give a VIDEO_ID (or --list)", file=sys.stderr)
        return 2
    try:
        summary = load_summary(settings, args.video_id)
    except ValueError as error:
        print(f"course-ta summary: {error}", file=sys.stderr)
        return 2
    if summary is None:
        print(
            f"course-ta summary: no summary for {args.video_id!r}; summaries are built by `course-ta ingest` "
            "and `course-ta sync` (see `course-ta summary --list`)",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(summary.to_dict(), ensure_ascii=False) if args.json else render_text(summary))
    return 0


def render_text(summary: VideoSummary) -> str:
    """Title, link, summary, then each salient point with its time and deep link."""
    lines = [summary.title, summary.url, "", summary.summary, "", "Salient points:"]
    for point in summary.points:
        lines.append(f"  {format_timestamp(point.start_s):>8}  {point.text}")
        lines.append(f"            {deep_link(summary.url, point.start_s)}")
    lines.append("")
    lines.append(f"({summary.method})")
    return "\n".join(lines)
