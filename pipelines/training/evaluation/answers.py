"""Answer quality of a generative answerer on held-out examples: citations, declines, faithfulness, length, speed.

Every metric reads the model's raw reply against the numbered passages it was given, through the
same citation check :class:`~pipelines.llm.llm_answerer.LLMAnswerer` applies at serving time:

- ``valid_citations``: the reply cites at least one passage, cites only passages that exist and does
  not repeat the system prompt (what the answerer keeps as a grounded answer).
- ``cites_gold``: among answerable questions, the reply's citations include a passage that holds the answer.
- ``decline_accuracy``: among unanswerable questions, the reply cites nothing (the answerer then says
  "not covered"); ``false_declines``: the same on answerable questions.
- ``faithfulness``: the share of answers whose every citing sentence is supported by the passages it
  cites. No NLI or cross-encoder model ships offline here and judging with the same small LLM
  would be circular, so support is a documented lexical proxy: at least ``SUPPORT_OVERLAP`` of the
  sentence's content words (stop words and markers removed) occur in the cited passages.
- ``answer_words`` (mean length) and ``tokens_per_s`` (completion tokens over generation time).

The offline extractive answerer is scored from what it did with the same passages (recorded by
``course-ta llm-data``), as the baseline the generative models must match on declines.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.llm.llm_answerer import CitationRewriter, _leaks_prompt

SUPPORT_OVERLAP = 0.5
_WORD = re.compile(r"[a-z0-9]+")
_STOP_TEXT = (
    "a an the of to in on for and or is are was were be been being it its this that these those what which who how why when where "
    "with as by at from into about than then so if but not no do does did can could would should will just also there their they "
    "we you your our i he she his her them us me my lecture lectures passage passages"
)
_STOP = frozenset(_STOP_TEXT.split())


def content_words(text: str) -> set[str]:
    """Lowercased words of ``text`` minus stop words and citation numbers: what support is counted on."""
    return {w for w in _WORD.findall(re.sub(r"\[[^\]]*\]", " ", text.lower())) if w not in _STOP and not w.isdigit()}


def parse_reply(text: str, passages: int) -> tuple[list[int], bool]:
    """(1-based passage numbers cited in order, whether the reply cites only existing passages and leaks no prompt)."""
    rewriter = CitationRewriter(passages)
    rewriter.feed(text)
    rewriter.finish()
    return [p + 1 for p in rewriter.order], not rewriter.invented and not _leaks_prompt(text)


def sentence_support(text: str, passages: Sequence[str]) -> list[bool]:
    """For each sentence of ``text`` that cites passages, whether its content words are covered by them (lexical proxy)."""
    verdicts = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        numbers = [int(n) for marker in re.findall(r"\[([^\]]*)\]", sentence) for n in re.findall(r"\d+", marker)]
        cited = [passages[n - 1] for n in numbers if 1 <= n <= len(passages)]
        if not cited:
            continue
        claim = content_words(sentence)
        if not claim:
            continue
        source = set().union(*(content_words(p) for p in cited))
        verdicts.append(len(claim & source) / len(claim) >= SUPPORT_OVERLAP)
    return verdicts


@dataclass
class ReplyScore:
    """One reply scored against its example."""

    answerable: bool
    cited: list[int]
    valid: bool  # cites something, only existing passages, no prompt leak
    cites_gold: bool
    declined: bool
    faithful: bool | None  # None when nothing was cited
    words: int
    completion_tokens: int = 0
    seconds: float = 0.0
    reply: str = ""


def score_reply(text: str, passages: Sequence[str], gold: Sequence[int], answerable: bool) -> ReplyScore:
    """Score one raw reply; a reply citing nothing counts as a decline, as the answerer treats it."""
    cited, clean = parse_reply(text, len(passages))
    support = sentence_support(text, passages) if cited else []
    return ReplyScore(
        answerable=answerable,
        cited=cited,
        valid=bool(cited) and clean,
        cites_gold=answerable and bool(cited) and clean and any(n in gold for n in cited),
        declined=not cited or not clean,
        faithful=(bool(support) and all(support)) if cited else None,
        words=len(re.findall(r"\w+(?:['-]\w+)*", re.sub(r"\[[^\]]*\]", " ", text))),
        reply=text,
    )


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


@dataclass
class AnswerSummary:
    """A contestant's figures over one set of examples."""

    name: str
    scores: list[ReplyScore] = field(default_factory=list)
    failures: int = 0

    def to_dict(self, with_replies: bool = False) -> dict[str, Any]:
        """The metrics (and per-example replies when asked), JSON-ready."""
        answerable = [s for s in self.scores if s.answerable]
        unanswerable = [s for s in self.scores if not s.answerable]
        cited = [s for s in self.scores if s.faithful is not None]
        seconds = sum(s.seconds for s in self.scores)
        tokens = sum(s.completion_tokens for s in self.scores)
        out: dict[str, Any] = {
            "name": self.name,
            "questions": len(self.scores),
            "answerable": len(answerable),
            "unanswerable": len(unanswerable),
            "failures": self.failures,
            "valid_citations": _share([s.valid for s in answerable]),
            "valid_citations_all": _share([s.valid for s in self.scores]),
            "cites_gold": _share([s.cites_gold for s in answerable]),
            "decline_accuracy": _share([s.declined for s in unanswerable]),
            "false_declines": _share([s.declined for s in answerable]),
            "faithfulness": _share([bool(s.faithful) for s in cited]),
            "faithfulness_method": f"lexical overlap >= {SUPPORT_OVERLAP} of content words",
            "answer_words": round(sum(s.words for s in self.scores) / len(self.scores), 1) if self.scores else None,
            "tokens_per_s": round(tokens / seconds, 2) if seconds else None,
        }
        if with_replies:
            out["replies"] = [{"reply": s.reply, "cited": s.cited, "answerable": s.answerable} for s in self.scores]
        return out


def offline_summary(examples: Sequence[Any]) -> AnswerSummary:
    """The offline extractive answerer's figures from what ``llm-data`` recorded it did with the same passages."""
    summary = AnswerSummary("offline-extractive")
    for example in examples:
        cited = list(example.offline.get("cited", []))
        declined = bool(example.offline.get("declined", not cited))
        summary.scores.append(
            ReplyScore(
                answerable=example.answerable,
                cited=cited,
                valid=bool(cited) and not declined,
                cites_gold=example.answerable and any(n in example.gold for n in cited),
                declined=declined or not cited,
                faithful=None if declined or not cited else True,  # it quotes the passages verbatim
                words=0,
            )
        )
    return summary


def evaluate_answers(
    examples: Sequence[Any],
    name: str,
    chat: Callable[[list[dict[str, str]]], Any],
    progress: Callable[[int, int], None] | None = None,
) -> AnswerSummary:
    """Ask ``chat`` (messages → an object with ``text`` and ``completion_tokens``, raising on failure) every example's prompt."""
    summary = AnswerSummary(name)
    for number, example in enumerate(examples, start=1):
        started = time.perf_counter()
        try:
            reply = chat(example.prompt)
        except Exception:  # a failed call is scored as a decline and counted, never stops the evaluation
            summary.failures += 1
            summary.scores.append(score_reply("", example.passages, example.gold, example.answerable))
            continue
        score = score_reply(reply.text, example.passages, example.gold, example.answerable)
        score.completion_tokens = int(reply.completion_tokens)
        score.seconds = time.perf_counter() - started
        summary.scores.append(score)
        if progress:
            progress(number, len(examples))
    return summary
