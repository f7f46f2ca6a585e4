"""The dev question file: one JSON object per line, ``{"question", "video_id", "start_s", "end_s"}``.

``video_id`` null marks a question the course does not answer (the answer should decline).
Every line is checked, and a bad one fails with its line number and what is wrong, because a
silently skipped or misread question makes every number of the evaluation wrong.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


class QuestionFileError(ValueError):
    """A line of the question file is not a valid question; the message names the line."""


@dataclass(frozen=True)
class DevQuestion:
    """One checked question; ``video_id`` None means the course does not answer it, and then there is no window."""

    question: str
    video_id: str | None
    start_s: float | None = None
    end_s: float | None = None

    @property
    def answerable(self) -> bool:
        """Whether the course answers it."""
        return self.video_id is not None


def parse_question(data: object, where: str) -> DevQuestion:
    """Check one decoded line; QuestionFileError names ``where`` and what is wrong."""
    if not isinstance(data, dict):
        raise QuestionFileError(f"{where}: expected a JSON object, got {type(data).__name__}")
    question = data.get("question")
    if not isinstance(question, str) or not question.strip():
        raise QuestionFileError(f'{where}: "question" must be a non-empty string')
    if "video_id" not in data:
        raise QuestionFileError(f'{where}: "video_id" is missing (use null for a question the course does not cover)')
    video_id = data["video_id"]
    if video_id is not None and (not isinstance(video_id, str) or not video_id.strip()):
        raise QuestionFileError(f'{where}: "video_id" must be a string or null')
    times = []
    for name in ("start_s", "end_s"):
        value = data.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0):
            raise QuestionFileError(f'{where}: "{name}" must be a number of seconds >= 0 or null')
        times.append(None if value is None else float(value))
    start_s, end_s = times
    if (start_s is None) != (end_s is None):
        raise QuestionFileError(f'{where}: give both "start_s" and "end_s" or neither')
    if start_s is not None and end_s is not None and end_s < start_s:
        raise QuestionFileError(f'{where}: "end_s" ({end_s}) is before "start_s" ({start_s})')
    if video_id is None and start_s is not None:
        raise QuestionFileError(f"{where}: an unanswerable question (video_id null) cannot have a time window")
    return DevQuestion(question.strip(), video_id, start_s, end_s)


def read_questions(path: Path) -> list[DevQuestion]:
    """Every question of the file (blank lines skipped); QuestionFileError at the first bad line or when there is none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as error:
        raise QuestionFileError(f"{path.name} is not UTF-8 text (byte {error.start}); save it as UTF-8 JSONL") from None
    except OSError as error:
        raise QuestionFileError(f"cannot read {path}: {error.strerror or error}") from None
    questions = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name} line {number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as error:
            raise QuestionFileError(f"{where}: not valid JSON ({error.msg} at column {error.colno})") from None
        questions.append(parse_question(data, where))
    if not questions:
        raise QuestionFileError(f"{path.name}: no questions")
    return questions
