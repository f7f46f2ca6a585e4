"""``course-ta ask "question" [--json] [--batch FILE|-]``: answer from the lectures with citations."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from bot.answering.service import AnswerService, QuestionError
from pipelines.domain import Answer, format_timestamp
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta ask`` and its options to the command line."""
    parser = subcommands.add_parser("ask", help="answer a question from the indexed lectures")
    parser.add_argument("question", nargs="?", help="the question (omit with --batch)")
    parser.add_argument("--json", action="store_true", help="print the JSON contract of DESIGN.md")
    parser.add_argument("--batch", metavar="FILE", help="one question per line ('-' for stdin); prints JSON lines")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print one answer (text or ``--json``) or a batch of JSON lines; exit 2 on bad arguments or an unusable question."""
    if args.question is None and args.batch is None:
        print("course-ta ask: give a question (or --batch FILE)", file=sys.stderr)
        return 2
    if args.question is not None and args.batch is not None:
        print("course-ta ask: give a question or --batch FILE, not both", file=sys.stderr)
        return 2
    service = AnswerService(load_settings())
    if args.batch is not None:
        return _run_batch(service, args.batch)
    try:
        answer = service.answer(args.question)
    except QuestionError as error:
        print(f"course-ta ask: {error}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(render_text(answer))
    return 0


def _run_batch(service: AnswerService, source: str) -> int:
    """Models load once; one JSON object per line; a bad line gets an error object, not an abort."""
    with ExitStack() as stack:
        if source == "-":
            stream: TextIO = sys.stdin
        else:
            try:
                stream = stack.enter_context(Path(source).open(encoding="utf-8"))
            except OSError as error:
                print(f"course-ta ask: cannot read {source}: {error.strerror}", file=sys.stderr)
                return 2
        failures = 0
        for line in stream:
            question = line.rstrip("\n")
            if not question.strip():
                continue
            try:
                print(json.dumps(service.answer(question).to_dict(), ensure_ascii=False), flush=True)
            except QuestionError as error:
                failures += 1
                print(json.dumps({"question": question[:200], "error": str(error)}, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def render_text(answer: Answer) -> str:
    """The answer, then its numbered sources with title, timestamp and link."""
    lines = [answer.text]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for number, citation in enumerate(answer.citations, start=1):
            lines.append(f"  [{number}] {citation.title} @ {format_timestamp(citation.start_s)}  {citation.url}")
    return "\n".join(lines)
