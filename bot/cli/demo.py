"""``course-ta demo``: the first-run job: index the sample course that ships with course-ta, answer
a question from it and print the answer with its links. No server, no API key, nothing to download.

The sample lectures go into a data dir of their own (``<data dir>/demo``, or ``--data-dir``), never
into the course's index: sample lectures mixed into a real course would be cited for real questions.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pipelines
from bot.answering.service import AnswerService
from bot.cli.ask import render_text
from bot.cli.ingest import print_report
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import Settings, load_settings

SAMPLE_COURSE = Path(pipelines.__file__).resolve().parent / "sample_course"
DEFAULT_QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"
DEMO_FOLDER = "demo"


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the command line."""
    parser = subcommands.add_parser("demo", help="index the bundled sample course (in its own data dir) and answer a question")
    parser.add_argument("--question", default=DEFAULT_QUESTION, help="what to ask after indexing")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help=f"where the demo index goes (default: the `{DEMO_FOLDER}` folder inside COURSE_TA_DATA_DIR, apart from your course)",
    )
    parser.set_defaults(handler=run)


def demo_settings(settings: Settings, data_dir: Path | None = None) -> Settings:
    """The settings with the data dir the demo writes to: ``data_dir``, else ``<data dir>/demo``.

    The demo is apart from every course, so a courses file (and ``--course``) does not apply to it.
    """
    return load_settings(deployment=True, data_dir=data_dir if data_dir is not None else settings.data_dir / DEMO_FOLDER)


def run(args: argparse.Namespace) -> int:
    """Ingest the sample course into the demo data dir, then answer one question from it."""
    course_settings = load_settings(deployment=True)  # the demo never needs to know which course is meant
    settings = demo_settings(course_settings, args.data_dir)
    print(f"Indexing the sample course in {SAMPLE_COURSE} into the demo data dir {settings.data_dir} ...")
    if args.data_dir is None:
        print(f"(your own course's index in {course_settings.data_dir} is not touched)")
    ingestor = Ingestor(settings)
    report = ingestor.ingest([SAMPLE_COURSE])
    print_report(report)
    if not report.succeeded:
        return 1
    service = AnswerService(settings, ingestor.bundle)
    print(f"\nQ: {args.question}\n")
    print(render_text(service.answer(args.question)))
    print(f'\nThe demo index is in {settings.data_dir}; ask it again with `COURSE_TA_DATA_DIR={settings.data_dir} course-ta ask "..."`.')
    print('Next, your own course: `course-ta ingest YOUR_TRANSCRIPTS/` and `course-ta ask "..."`.')
    return 0
