"""Hint mode: for named assignments, explain the concept and point to the lectures, never hand over the solution.

The model is told so, and its reply is checked afterwards, because a small or stubborn model may
write the solution anyway: code blocks and step-by-step solution listings are withheld and replaced
by a pointer to the lecture moments. The offline answerer only quotes the lectures, so it never
produces a solution to begin with.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

HINT_RULE = (
    "This question is about a graded assignment ({topic}). Do NOT give the solution: no code, no "
    "complete derivation, no final answer. Explain the underlying concept in a few sentences, point "
    "the student to the cited lecture passages, and suggest what to try next."
)

WITHHELD = "(A worked solution was left out: this is a graded assignment. The cited lecture moments explain what you need.)"

_FENCED = re.compile(r"```.*?(```|$)", re.S)
_CODE_LINE = re.compile(r"^\s*(def |class |import |from \S+ import |for .+:|while .+:|if .+:|return |print\(|\w+\s*=\s*\S)")
_STEP_LINE = re.compile(r"^\s*(step\s*\d+|\d+[.)])\s+", re.I)


def hint_topic(question: str, topics: Sequence[str]) -> str | None:
    """The configured assignment/topic the question names (case-insensitive, whole words), or None."""
    lowered = " ".join(question.lower().split())
    for topic in topics:
        words = " ".join(topic.lower().split())
        if words and re.search(rf"(?<!\w){re.escape(words)}(?!\w)", lowered):
            return topic
    return None


def withhold_solution(text: str) -> tuple[str, bool]:
    """``text`` without code blocks, code lines and numbered solution steps; True when something was withheld."""
    kept = _FENCED.sub("", text)
    lines = kept.splitlines()
    code_lines = [line for line in lines if _CODE_LINE.match(line)]
    step_lines = [line for line in lines if _STEP_LINE.match(line)]
    remove = set(code_lines) | (set(step_lines) if len(step_lines) >= 3 else set())
    kept = "\n".join(line for line in lines if line not in remove).strip()
    withheld = kept != text.strip()
    if withheld:
        kept = f"{kept}\n\n{WITHHELD}".strip()
    return kept, withheld
