"""``course-ta demo``: the first-run job: index the sample course that ships with course-ta, answer
a question from it and print the answer with its links. No server, no API key, nothing to download."""

from __future__ import annotations

import argparse
from pathlib import Path

import pipelines
from bot.answering.service import AnswerService
from bot.cli.ask import render_text
from bot.cli.ingest import print_report
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings

SAMPLE_COURSE = Path(pipelines.__file__).resolve().parent / "sample_course"
DEFAULT_QUESTION = "How does reciprocal rank fusion combine BM25 and dense retrieval?"


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the command line."""
    parser = subcommands.add_parser("demo", help="index the bundled sample course and answer a question")
    parser.add_argument("--question", default=DEFAULT_QUESTION, help="what to ask after indexing")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ingest the sample course, then answer one question from it."""
    settings = load_settings()
    print(f"Indexing the sample course in {SAMPLE_COURSE} into {settings.data_dir} ...")
    ingestor = Ingestor(settings)
    report = ingestor.ingest([SAMPLE_COURSE])
    print_report(report)
    if not report.succeeded:
        return 1
    service = AnswerService(settings, ingestor.bundle)
    print(f"\nQ: {args.question}\n")
    print(render_text(service.answer(args.question)))
    print('\nNext: `course-ta ingest YOUR_TRANSCRIPTS/` and `course-ta ask "..."`.')
    return 0
