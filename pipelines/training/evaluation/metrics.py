"""Per-question and overall retrieval metrics, defined so a reader can check them by hand.

Ranking metrics are computed on the ranked list of *distinct videos* the retrieval returns (the
order a student sees them cited), with exactly one relevant video per answerable question:
hit@k = the expected video is among the first k; reciprocal rank = 1/rank (0 when absent);
nDCG@10 with binary relevance and one relevant item = 1/log2(rank + 1) when rank <= 10, else 0.

Answer-level metrics score what the student sees, the answer's citations in their order:
cited hit@1 = the first cited video is the expected one; cited hit@3 = the expected video is among
the cited ones; the time-window hit asks whether any cited moment of the expected video starts
inside [start_s - 15, end_s + 15], the second a student would jump to. A declined answer cites
nothing, so it misses all three.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pipelines.search.offline_answerer import citations_at

WINDOW_TOLERANCE_S = 15.0
KS = (1, 3, 5)


def distinct(videos: Sequence[str]) -> list[str]:
    """Each video once, in the order first seen."""
    seen: set[str] = set()
    ordered = []
    for video in videos:
        if video not in seen:
            seen.add(video)
            ordered.append(video)
    return ordered


def rank_of(expected: str, ranked_videos: Sequence[str]) -> int | None:
    """1-based rank of ``expected`` among the distinct videos, None when it was not retrieved."""
    ordered = distinct(ranked_videos)
    return ordered.index(expected) + 1 if expected in ordered else None


def ndcg_at(rank: int | None, k: int = 10) -> float:
    """nDCG@k for the one relevant video at ``rank``; 0 when it was missed or ranked below k."""
    return 1.0 / math.log2(rank + 1) if rank is not None and rank <= k else 0.0


def in_window(cited_start: float | None, start_s: float | None, end_s: float | None, tolerance: float = WINDOW_TOLERANCE_S) -> bool:
    """Whether a cited start lies in [start_s - tolerance, end_s + tolerance]; False when any time is unknown."""
    if cited_start is None or start_s is None or end_s is None:
        return False
    return start_s - tolerance <= cited_start <= end_s + tolerance


@dataclass
class QuestionResult:
    """One dev question's retrieval and answer, enough to recompute every metric at any threshold."""

    question: str
    expected_video: str | None
    ranked_videos: list[str]
    cited: list[tuple[str, float | None, float]]  # (video, start_s, score) of the answer's candidate citations, in citation order
    best_score: float  # the answerer's relevance score (what the "not covered" threshold compares)
    latency_s: float
    start_s: float | None = None
    end_s: float | None = None
    threshold: float = -1.0  # min_relevance applied to best_score

    @property
    def answerable(self) -> bool:
        """Whether the course answers it (an expected video is known)."""
        return self.expected_video is not None

    @property
    def declined(self) -> bool:
        """Whether the answer says "not covered" at this threshold."""
        return self.best_score < self.threshold

    @property
    def rank(self) -> int | None:
        """1-based rank of the expected video; None when it was missed or there is none."""
        return rank_of(self.expected_video, self.ranked_videos) if self.expected_video else None

    def hit(self, k: int) -> bool:
        """Whether the expected video is among the first ``k`` distinct videos."""
        rank = self.rank
        return rank is not None and rank <= k

    @property
    def citations(self) -> list[tuple[str, float | None, float]]:
        """What the answer cites at this threshold (nothing when it declines)."""
        return [] if self.declined else citations_at(self.cited, self.threshold)

    @property
    def cited_videos(self) -> list[str]:
        """The distinct cited videos in the order the student sees them."""
        return distinct([video for video, _, _ in self.citations])

    @property
    def cited_expected(self) -> bool:
        """The answer (not declined) cites the expected video at all: cited hit@3, since at most three videos are cited."""
        return self.expected_video in self.cited_videos

    @property
    def cited_first(self) -> bool:
        """The answer's first cited video is the expected one (cited hit@1)."""
        return self.cited_videos[:1] == [self.expected_video]

    @property
    def window_hit(self) -> bool:
        """Some cited moment of the expected video starts inside the expected window (±15 s)."""
        return any(video == self.expected_video and in_window(start, self.start_s, self.end_s) for video, start, _ in self.citations)

    def to_dict(self) -> dict:
        """The question's record in the JSON report; ranking fields only for answerable questions."""
        data: dict[str, Any] = {
            "question": self.question,
            "expected_video": self.expected_video,
            "declined": self.declined,
            "best_score": round(self.best_score, 4),
            "latency_ms": round(self.latency_s * 1000, 1),
            "top_videos": distinct(self.ranked_videos)[:5],
        }
        if self.answerable:
            data.update(
                {
                    "rank": self.rank,
                    **{f"hit@{k}": self.hit(k) for k in KS},
                    "cited_first": self.cited_first,
                    "cited_expected": self.cited_expected,
                    "window_hit": self.window_hit,
                    "cited_videos": self.cited_videos,
                    "cited_starts_s": [s for v, s, _ in self.citations if v == self.expected_video],
                    "expected_window": [self.start_s, self.end_s],
                }
            )
        return data


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    index = max(0, math.ceil(q / 100 * len(ordered)) - 1)
    return ordered[min(index, len(ordered) - 1)]


@dataclass
class Summary:
    """The overall metrics of one configuration; rates are shares of answerable questions unless noted."""

    questions: int
    answerable: int
    unanswerable: int
    hits: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0
    ndcg10: float = 0.0
    window_hit: float = 0.0
    cited_first: float = 0.0  # cited hit@1
    cited_expected: float = 0.0  # cited hit@3
    citations_per_answer: float = 0.0  # mean number of citations of the answers that were not declined
    single_citation: int = 0  # answered questions (answerable or not) with exactly one citation
    decline_rate: float | None = None  # unanswerable questions correctly declined
    false_decline_rate: float = 0.0  # answerable questions wrongly declined
    p50_ms: float = 0.0
    p95_ms: float = 0.0

    def to_dict(self) -> dict:
        """The figures rounded for the report, keyed as in its table."""
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            **{f"hit@{k}": round(v, 4) for k, v in self.hits.items()},
            "mrr": round(self.mrr, 4),
            "ndcg@10": round(self.ndcg10, 4),
            "window_hit": round(self.window_hit, 4),
            "cited_first": round(self.cited_first, 4),
            "cited_expected": round(self.cited_expected, 4),
            "citations_per_answer": round(self.citations_per_answer, 3),
            "single_citation": self.single_citation,
            "decline_rate": None if self.decline_rate is None else round(self.decline_rate, 4),
            "false_decline_rate": round(self.false_decline_rate, 4),
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
        }


def summarize(results: Sequence[QuestionResult]) -> Summary:
    """Aggregate per-question results (an empty group counts as 0); ValueError when there are none."""
    if not results:
        raise ValueError("no results to summarize")
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]

    def mean(values: list[float]) -> float:
        return statistics.fmean(values) if values else 0.0

    latencies = [r.latency_s * 1000 for r in results]
    answered = [r for r in results if not r.declined]
    return Summary(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        hits={k: mean([float(r.hit(k)) for r in answerable]) for k in KS},
        mrr=mean([1.0 / r.rank if r.rank else 0.0 for r in answerable]),
        ndcg10=mean([ndcg_at(r.rank) for r in answerable]),
        window_hit=mean([float(r.window_hit) for r in answerable]),
        cited_first=mean([float(r.cited_first) for r in answerable]),
        cited_expected=mean([float(r.cited_expected) for r in answerable]),
        citations_per_answer=mean([float(len(r.citations)) for r in answered]),
        single_citation=sum(len(r.citations) == 1 for r in answered),
        decline_rate=mean([float(r.declined) for r in unanswerable]) if unanswerable else None,
        false_decline_rate=mean([float(r.declined) for r in answerable]),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
    )
