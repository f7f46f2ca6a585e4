"""Evaluation metrics on a toy case checked by hand, the question file's errors, and calibration."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipelines.search.calibration import calibrate
from pipelines.training.evaluation.metrics import QuestionResult, citations_at, in_window, ndcg_at, percentile, rank_of, summarize
from pipelines.training.evaluation.questions import QuestionFileError, read_questions


def result(expected, ranked, cited=(), best=0.6, latency=0.1, window=(None, None), threshold=0.4) -> QuestionResult:
    return QuestionResult("q", expected, list(ranked), list(cited), best, latency, window[0], window[1], threshold)


def test_rank_counts_distinct_videos_not_chunks() -> None:
    # Two chunks of video a, then b, then c: c is the third video a student sees.
    assert rank_of("c", ["a", "a", "b", "c"]) == 3
    assert rank_of("z", ["a", "b"]) is None


def test_toy_summary_by_hand() -> None:
    results = [
        # rank 1, cited at 100 s inside [90, 120]
        result("a", ["a", "b"], cited=[("a", 100.0, 0.7)], window=(90, 120)),
        # rank 2, cited at 60 s: window [90, 120] ± 15 starts at 75, so a miss
        result("a", ["b", "b", "a"], cited=[("b", 10.0, 0.7), ("a", 60.0, 0.65)], window=(90, 120)),
        # rank 4 (b, c, d, a), not cited
        result("a", ["b", "c", "d", "a"], cited=[("b", 5.0, 0.5)], window=(90, 120)),
        # not retrieved at all, and declined (0.3 < 0.4)
        result("a", ["x", "y"], best=0.3, window=(90, 120)),
        # unanswerable, declined; unanswerable, answered
        result(None, ["x"], best=0.2),
        result(None, ["x"], cited=[("x", 1.0, 0.5)], best=0.5),
    ]
    summary = summarize(results)
    assert summary.answerable == 4 and summary.unanswerable == 2
    assert summary.hits[1] == pytest.approx(1 / 4)
    assert summary.hits[3] == pytest.approx(2 / 4)
    assert summary.hits[5] == pytest.approx(3 / 4)
    assert summary.mrr == pytest.approx((1 + 1 / 2 + 1 / 4 + 0) / 4)
    assert summary.ndcg10 == pytest.approx((1 + 1 / math.log2(3) + 1 / math.log2(5) + 0) / 4)
    assert summary.window_hit == pytest.approx(1 / 4)
    assert summary.cited_first == pytest.approx(1 / 4)
    assert summary.cited_expected == pytest.approx(2 / 4)
    # Answered: cases 1 (1 citation), 2 (2), 3 (1) and the answered unanswerable one (1).
    assert summary.citations_per_answer == pytest.approx(5 / 4)
    assert summary.single_citation == 3
    assert summary.decline_rate == pytest.approx(1 / 2)
    assert summary.false_decline_rate == pytest.approx(1 / 4)
    # Latencies are all 100 ms here.
    assert summary.p95_ms == pytest.approx(100.0)


def test_window_tolerance_and_ndcg_cut_off() -> None:
    assert in_window(75.0, 90, 120) and in_window(135.0, 90, 120)
    assert not in_window(74.9, 90, 120) and not in_window(None, 90, 120)
    assert ndcg_at(10) == pytest.approx(1 / math.log2(11)) and ndcg_at(11) == 0.0 and ndcg_at(None) == 0.0
    assert percentile([5, 1, 4, 2, 3], 50) == 3 and percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 95) == 10


def test_a_raised_threshold_drops_weak_citations_and_declines() -> None:
    item = result("a", ["b", "a"], cited=[("b", 1.0, 0.55), ("a", 100.0, 0.45)], best=0.55, window=(90, 120), threshold=0.4)
    assert item.window_hit and not item.declined
    item.threshold = 0.5  # the answerer at 0.5 would not cite a (0.45) any more
    assert not item.window_hit and not item.cited_expected and not item.declined
    item.threshold = 0.6
    assert item.declined


def test_any_cited_moment_of_the_expected_video_counts_for_the_window() -> None:
    item = result("a", ["a"], cited=[("a", 10.0, 0.7), ("a", 100.0, 0.6)], window=(90, 120))
    assert item.window_hit and item.cited_first and len(item.citations) == 2


def test_citations_keep_order_and_stop_at_three_videos() -> None:
    candidates = [("a", 1.0, 0.9), ("b", 2.0, 0.3), ("c", 3.0, 0.8), ("a", 50.0, 0.7), ("d", 4.0, 0.7), ("e", 5.0, 0.9)]
    assert citations_at(candidates, 0.5) == [("a", 1.0, 0.9), ("c", 3.0, 0.8), ("a", 50.0, 0.7), ("d", 4.0, 0.7)]
    assert citations_at(candidates, 0.85) == [("a", 1.0, 0.9), ("e", 5.0, 0.9)]
    item = result("c", ["a", "c"], cited=candidates, best=0.9, threshold=0.5)
    assert item.cited_videos == ["a", "c", "d"] and not item.cited_first and item.cited_expected


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("not json", "not valid JSON"),
        ('{"video_id": "a"}', '"question" must be a non-empty string'),
        ('{"question": "why?"}', '"video_id" is missing'),
        ('{"question": "why?", "video_id": "a", "start_s": 10}', 'both "start_s" and "end_s"'),
        ('{"question": "why?", "video_id": "a", "start_s": 20, "end_s": 10}', "before"),
        ('{"question": "why?", "video_id": null, "start_s": 1, "end_s": 2}', "cannot have a time window"),
        ('{"question": "why?", "video_id": "a", "start_s": "ten", "end_s": 20}', '"start_s" must be a number'),
        ("[1, 2]", "expected a JSON object"),
    ],
)
def test_bad_question_lines_name_their_line(tmp_path: Path, line: str, reason: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"question": "fine", "video_id": null}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(QuestionFileError) as error:
        read_questions(path)
    assert "line 3" in str(error.value) and reason in str(error.value)


def test_calibration_separates_scores_at_the_widest_gap() -> None:
    answerable = [result("a", ["a"], best=s) for s in (0.50, 0.55, 0.62, 0.70)]
    unanswerable = [result(None, ["x"], best=s) for s in (0.20, 0.31, 0.35)]
    chosen = calibrate(answerable + unanswerable)
    assert chosen.balanced_accuracy == 1.0
    assert chosen.min_relevance == pytest.approx((0.35 + 0.50) / 2)
    # One unanswerable question scores like an answer: the threshold still keeps every answerable one
    # (balanced accuracy 0.875 either way; the widest gap wins).
    overlap = calibrate(answerable + unanswerable + [result(None, ["x"], best=0.66)])
    assert overlap.balanced_accuracy == pytest.approx((1 + 3 / 4) / 2)
    with pytest.raises(ValueError):
        calibrate(answerable)


def test_calibration_never_declines_more_answerable_questions_than_allowed() -> None:
    # Twenty answerable questions, two of them weak (0.30, 0.33); unanswerable ones score 0.25-0.40.
    answerable = [result("a", ["a"], best=0.5 + i / 100) for i in range(18)] + [result("a", ["a"], best=s) for s in (0.30, 0.33)]
    unanswerable = [result(None, ["x"], best=s) for s in (0.25, 0.28, 0.40)]
    # Uncapped, balanced accuracy is best just above 0.40: all three declined, two answerable lost (10 %).
    free = calibrate(answerable + unanswerable, max_false_declines=1.0)
    assert 0.40 < free.min_relevance < 0.5 and free.kept_answerable == pytest.approx(0.9)
    # Capped at 5 % (one question in twenty), 0.40 is given up; the best allowed threshold sits
    # between 0.28 and 0.30: every answerable question kept, two of three unanswerable declined.
    capped = calibrate(answerable + unanswerable, max_false_declines=0.05)
    assert 0.28 < capped.min_relevance < 0.30 and capped.kept_answerable == 1.0
    assert capped.declined_unanswerable == pytest.approx(2 / 3, abs=1e-4)
    with pytest.raises(ValueError):
        calibrate(answerable + unanswerable, max_false_declines=1.5)


def test_a_saved_calibration_is_served_for_its_model_unless_the_threshold_is_set(tmp_path: Path, monkeypatch) -> None:
    from pipelines.search.calibration import Calibration, effective_min_relevance
    from pipelines.search.offline_answerer import RELEVANCE_SCORING
    from pipelines.settings import load_settings

    monkeypatch.setenv("COURSE_TA_DATA_DIR", str(tmp_path))
    settings = load_settings()
    assert effective_min_relevance(settings) == settings.min_relevance  # nothing saved: the default
    Calibration(0.51, 0.9, 0.95, 0.8, 20, 5, embedding_model=settings.embedding_model).save(tmp_path)
    assert effective_min_relevance(load_settings()) == settings.min_relevance  # made for an older relevance formula
    Calibration(0.51, 0.9, 0.95, 0.8, 20, 5, embedding_model=settings.embedding_model, scoring=RELEVANCE_SCORING).save(tmp_path)
    assert effective_min_relevance(load_settings()) == 0.51
    assert effective_min_relevance(load_settings(embedding_model=str(tmp_path / "other-model"))) == settings.min_relevance
    monkeypatch.setenv("COURSE_TA_MIN_RELEVANCE", "0.3")
    assert effective_min_relevance(load_settings()) == 0.3  # an explicit setting always wins
    (tmp_path / "calibration.json").write_text("{not json")
    monkeypatch.delenv("COURSE_TA_MIN_RELEVANCE")
    assert effective_min_relevance(load_settings()) == settings.min_relevance  # unreadable: the default


def test_the_dev_set_is_valid_and_big_enough() -> None:
    from tests.pipelines.search.conftest import DEV_QUESTIONS

    questions = read_questions(DEV_QUESTIONS)
    assert len(questions) >= 60
    assert sum(not q.answerable for q in questions) >= 8
    assert all(q.start_s is not None for q in questions if q.answerable)
    assert len({q.question.lower() for q in questions}) == len(questions)


def test_dev_set_videos_and_windows_exist_in_the_corpus(corpus: Path) -> None:
    import csv

    durations = {}
    for manifest in corpus.glob("*/manifest.csv"):
        with manifest.open(encoding="utf-8") as handle:
            durations.update({row["video_id"]: float(row["duration_s"]) for row in csv.DictReader(handle)})
    from tests.pipelines.search.conftest import DEV_QUESTIONS

    for item in read_questions(DEV_QUESTIONS):
        if item.answerable:
            assert item.video_id in durations, item.question
            assert item.end_s <= durations[item.video_id] + 1, item.question
    assert json.loads(DEV_QUESTIONS.read_text().splitlines()[0])["video_id"]


def test_lecture_folds_keep_a_lectures_questions_together_and_alternate_unanswerable_ones() -> None:
    from pipelines.search.calibration import lecture_folds

    results = [result(video, [video]) for video in ("a", "b", "a", "c", "b", "a")] + [result(None, ["x"]) for _ in range(4)]
    first, second = lecture_folds(results)
    assert len(first) + len(second) == len(results)
    for video in ("a", "b", "c"):
        assert sum(r.expected_video == video for r in first) in (0, sum(r.expected_video == video for r in results))
    assert sum(r.expected_video is None for r in first) == sum(r.expected_video is None for r in second) == 2
