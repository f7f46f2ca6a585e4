"""Per-question and overall retrieval metrics, defined so a reader can check them by hand.

Ranking metrics are computed on the ranked list of *distinct videos* the retrieval returns (the
order a student sees them cited), with exactly one relevant video per answerable question:
hit@k = the expected video is among the first k; reciprocal rank = 1/rank (0 when absent);
nDCG@10 with binary relevance and one relevant item = 1/log2(rank + 1) when rank <= 10, else 0.
The time-window hit asks whether the answer's citation of the expected video starts inside
[start_s - 15, end_s + 15]: the second a student would jump to.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

WINDOW_TOLERANCE_S = 15.0
KS = (1, 3, 5)


def distinct(videos: Sequence[str]) -> list[str]:
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
    return 1.0 / math.log2(rank + 1) if rank is not None and rank <= k else 0.0


def in_window(cited_start: float | None, start_s: float | None, end_s: float | None, tolerance: float = WINDOW_TOLERANCE_S) -> bool:
    if cited_start is None or start_s is None or end_s is None:
        return False
    return start_s - tolerance <= cited_start <= end_s + tolerance


@dataclass
class QuestionResult:
    question: str
    expected_video: str | None
    ranked_videos: list[str]
    cited: list[tuple[str, float | None, float]]  # (video, start_s, score) of the answer's citations, best first
    best_score: float  # the answerer's best sentence score (what the "not covered" threshold compares)
    latency_s: float
    start_s: float | None = None
    end_s: float | None = None
    threshold: float = -1.0  # min_relevance applied to best_score

    @property
    def answerable(self) -> bool:
        return self.expected_video is not None

    @property
    def declined(self) -> bool:
        return self.best_score < self.threshold

    @property
    def rank(self) -> int | None:
        return rank_of(self.expected_video, self.ranked_videos) if self.expected_video else None

    def hit(self, k: int) -> bool:
        rank = self.rank
        return rank is not None and rank <= k

    @property
    def cited_expected(self) -> bool:
        """The answer (not declined) cites the expected video at all."""
        return not self.declined and any(video == self.expected_video for video, _, score in self.cited if score >= self.threshold)

    @property
    def window_hit(self) -> bool:
        """The answer's citation of the expected video starts inside the expected window (±15 s)."""
        if self.declined:
            return False
        for video, start, score in self.cited:
            if video == self.expected_video and score >= self.threshold:
                return in_window(start, self.start_s, self.end_s)
        return False

    def to_dict(self) -> dict:
        data = {
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
                    "cited_expected": self.cited_expected,
                    "window_hit": self.window_hit,
                    "cited_start_s": next((s for v, s, _ in self.cited if v == self.expected_video), None),
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
    questions: int
    answerable: int
    unanswerable: int
    hits: dict[int, float] = field(default_factory=dict)
    mrr: float = 0.0
    ndcg10: float = 0.0
    window_hit: float = 0.0
    cited_expected: float = 0.0
    decline_rate: float | None = None  # unanswerable questions correctly declined
    false_decline_rate: float = 0.0  # answerable questions wrongly declined
    p50_ms: float = 0.0
    p95_ms: float = 0.0

    def to_dict(self) -> dict:
        return {
            "questions": self.questions,
            "answerable": self.answerable,
            "unanswerable": self.unanswerable,
            **{f"hit@{k}": round(v, 4) for k, v in self.hits.items()},
            "mrr": round(self.mrr, 4),
            "ndcg@10": round(self.ndcg10, 4),
            "window_hit": round(self.window_hit, 4),
            "cited_expected": round(self.cited_expected, 4),
            "decline_rate": None if self.decline_rate is None else round(self.decline_rate, 4),
            "false_decline_rate": round(self.false_decline_rate, 4),
            "p50_ms": round(self.p50_ms, 1),
            "p95_ms": round(self.p95_ms, 1),
        }


def summarize(results: Sequence[QuestionResult]) -> Summary:
    if not results:
        raise ValueError("no results to summarize")
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    mean = lambda values: statistics.fmean(values) if values else 0.0  # noqa: E731
    latencies = [r.latency_s * 1000 for r in results]
    return Summary(
        questions=len(results),
        answerable=len(answerable),
        unanswerable=len(unanswerable),
        hits={k: mean([float(r.hit(k)) for r in answerable]) for k in KS},
        mrr=mean([1.0 / r.rank if r.rank else 0.0 for r in answerable]),
        ndcg10=mean([ndcg_at(r.rank) for r in answerable]),
        window_hit=mean([float(r.window_hit) for r in answerable]),
        cited_expected=mean([float(r.cited_expected) for r in answerable]),
        decline_rate=mean([float(r.declined) for r in unanswerable]) if unanswerable else None,
        false_decline_rate=mean([float(r.declined) for r in answerable]),
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
    )
