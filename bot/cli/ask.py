"""``course-ta ask "question" [--json] [--batch FILE|-]``: answer from the lectures with citations."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, TextIO

from bot.answering.service import AnswerService, QuestionError
from pipelines.courses.catalog import CourseError
from pipelines.courses.course_settings import explicit_course
from pipelines.courses.limits import paused_notice
from pipelines.domain import Answer, format_timestamp
from pipelines.settings import SettingsError, load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta ask`` and its options to the command line."""
    parser = subcommands.add_parser("ask", help="answer a question from the indexed lectures")
    parser.add_argument("question", nargs="?", help="the question (omit with --batch)")
    parser.add_argument("--json", action="store_true", help="print the JSON contract of DESIGN.md")
    parser.add_argument("--batch", metavar="FILE", help="one question per line ('-' for stdin); prints JSON lines")
    parser.set_defaults(handler=run)


NOT_INDEXED = (
    "nothing is indexed yet, so there is nothing to answer from; run `course-ta ingest PATH` (or `course-ta demo` to try the sample course)"
)


def run(args: argparse.Namespace) -> int:
    """Print one answer (text or ``--json``) or a batch of JSON lines.

    Exit 0 answered; 1 when a batch had unusable lines; 2 for bad arguments, an unusable question, a
    paused course (as the bots refuse it), or an empty index (the store holds nothing yet: the message
    says how to fill it).
    """
    if args.question is None and args.batch is None:
        print("course-ta ask: give a question (or --batch FILE)", file=sys.stderr)
        return 2
    if args.question is not None and args.batch is not None:
        print("course-ta ask: give a question or --batch FILE, not both", file=sys.stderr)
        return 2
    settings = load_settings()
    notice = _paused()
    if notice:
        print(f"course-ta ask: {notice}", file=sys.stderr)
        return 2
    service = AnswerService(settings)
    if args.batch is not None:
        return _run_batch(service, args.batch)
    try:
        answer = service.answer(args.question)
    except QuestionError as error:
        print(f"course-ta ask: {error}", file=sys.stderr)
        return 2
    if answer.answerer == "none":
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False))
        print(f"course-ta ask: {NOT_INDEXED}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(render_text(answer))
    return 0


def _paused() -> str | None:
    """The bots' notice when the course is paused (checked before any model loads), else None."""
    try:
        course = explicit_course(load_settings(deployment=True))
    except CourseError as error:
        raise SettingsError(str(error)) from None
    return None if course is None else paused_notice(course)


def _lines(stream: BinaryIO | TextIO) -> Iterator[tuple[str, bool]]:
    """Each line as text and whether it was valid UTF-8; undecodable bytes become U+FFFD, never an exception.

    Lines are decoded one at a time, so a bad byte spoils only its own line, not the rest of the batch.
    """
    for raw in stream:
        if isinstance(raw, bytes):
            try:
                yield raw.decode("utf-8").rstrip("\r\n"), True
            except UnicodeDecodeError:
                yield raw.decode("utf-8", errors="replace").rstrip("\r\n"), False
        else:  # a text stream (no binary buffer underneath): lone surrogates mark what did not decode
            text = raw.rstrip("\r\n")
            printable = text.encode("utf-8", errors="replace").decode("utf-8")
            yield printable, printable == text


def _run_batch(service: AnswerService, source: str) -> int:
    """Models load once; one JSON object per line; a bad line gets an error object, not an abort."""
    with ExitStack() as stack:
        if source == "-":
            stream: BinaryIO | TextIO = getattr(sys.stdin, "buffer", sys.stdin)
        else:
            try:
                stream = stack.enter_context(Path(source).open("rb"))
            except OSError as error:
                print(f"course-ta ask: cannot read {source}: {error.strerror}", file=sys.stderr)
                return 2
        failures = 0
        for number, (question, decoded) in enumerate(_lines(stream), start=1):
            if not question.strip():
                continue
            try:
                answer = service.answer(question)
            except QuestionError as error:
                failures += 1
                reason = str(error) if decoded else f"line {number} is not valid UTF-8 text. {error}"
                print(json.dumps({"question": question[:200], "error": reason}, ensure_ascii=False), flush=True)
                continue
            if answer.answerer == "none":
                print(f"course-ta ask: {NOT_INDEXED}", file=sys.stderr)
                return 2
            print(json.dumps(answer.to_dict(), ensure_ascii=False), flush=True)
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
