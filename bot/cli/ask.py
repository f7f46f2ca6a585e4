"""``course-ta ask "question" [--json] [--batch FILE|-]``: answer from the lectures with citations."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, TextIO

from bot.answering.course_desk import CourseDesk
from bot.answering.service import QuestionError
from pipelines.courses.catalog import Course, CourseError
from pipelines.courses.course_settings import selected_course
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


def not_indexed(desk: CourseDesk, course: Course) -> str:
    """What to run when the course's index is empty: with several courses, the ingest names this one."""
    target = f" --course {course.id}" if desk.catalog.explicit and len(desk.catalog.courses) > 1 else ""
    return (
        f"nothing is indexed yet, so there is nothing to answer from; run `course-ta ingest PATH{target}`"
        " (or `course-ta demo` to try the sample course)"
    )


def run(args: argparse.Namespace) -> int:
    """Print one answer (text or ``--json``) or a batch of JSON lines, under the course's rules as the bots apply them.

    Every question goes through the course's :class:`CourseDesk`: a paused course is refused, a
    question naming a hint-mode assignment gets no solution, and the LLM tokens spent are charged
    to the course's daily budget (past it the answer is offline). The per-minute question rate
    does not apply (see :meth:`CourseDesk.command_line`).

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
    desk, course = _desk()
    notice = paused_notice(course)  # before any model loads or a batch is read
    if notice:
        print(f"course-ta ask: {notice}", file=sys.stderr)
        return 2
    if args.batch is not None:
        return _run_batch(desk, course, args.batch)
    try:
        answer = _answer(desk, course, args.question)
    except QuestionError as error:
        print(f"course-ta ask: {error}", file=sys.stderr)
        return 2
    if answer.answerer == "none":
        if args.json:
            print(json.dumps(answer.to_dict(), ensure_ascii=False))
        print(f"course-ta ask: {not_indexed(desk, course)}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False))
    else:
        print(render_text(answer))
    return 0


def _desk() -> tuple[CourseDesk, Course]:
    """The deployment's desk and the course this command works on (``--course``, or the only course)."""
    base = load_settings(deployment=True)
    try:
        desk = CourseDesk(base)
        return desk, selected_course(base, desk.catalog)
    except CourseError as error:
        raise SettingsError(str(error)) from None


def _answer(desk: CourseDesk, course: Course, question: str) -> Answer:
    """One question through the desk: admitted (budget and hint mode applied), answered, its LLM tokens charged."""
    ticket = desk.command_line(course, question)
    if ticket.service is None:  # only a paused course is refused here, and run() says so before the first question
        raise QuestionError(ticket.refusal)
    try:
        return ticket.service.answer(ticket.question, hint=ticket.hint)
    finally:
        desk.record_spend(course, ticket.service)


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


def _run_batch(desk: CourseDesk, course: Course, source: str) -> int:
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
                answer = _answer(desk, course, question)
            except QuestionError as error:
                failures += 1
                reason = str(error) if decoded else f"line {number} is not valid UTF-8 text. {error}"
                print(json.dumps({"question": question[:200], "error": reason}, ensure_ascii=False), flush=True)
                continue
            if answer.answerer == "none":
                print(f"course-ta ask: {not_indexed(desk, course)}", file=sys.stderr)
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
