"""The answer pool and cache on the real sample index: concurrent answers equal sequential ones,
queue positions, cache hits, and a re-ingest that invalidates the cache."""

from __future__ import annotations

import threading
from concurrent.futures import wait
from pathlib import Path

import pytest

from bot.answering.answer_pool import WorkPool
from bot.answering.service import AnswerService, QuestionError
from bot.cli.demo import SAMPLE_COURSE
from pipelines.domain import Turn
from pipelines.freshness.ingest import Ingestor
from pipelines.settings import load_settings

QUESTIONS = [
    "How does reciprocal rank fusion combine BM25 and dense retrieval?",
    "What is a triplet loss?",
    "How does Whisper handle long audio?",
    "How do I clone a voice?",
    "What does BM25 score?",
    "What is a hard negative?",
    "How are transcripts chunked?",
    "What is the capital of Peru?",
]


def service(data_dir: Path, **overrides) -> AnswerService:
    answers = AnswerService(load_settings(data_dir=data_dir, **overrides))
    answers.warm_up()
    return answers


def test_pool_answers_are_the_sequential_answers(sample_data_dir: Path) -> None:
    sequential = service(sample_data_dir, answer_workers=1, answer_cache_size=0)
    expected = [sequential.answer(q).to_dict() for q in QUESTIONS]
    parallel = service(sample_data_dir, answer_workers=4, answer_cache_size=0)
    try:
        futures = [parallel.submit(q) for _ in range(3) for q in QUESTIONS]  # 24 at once on 4 workers
        wait(futures, timeout=300)
        assert [f.result().to_dict() for f in futures] == expected * 3
    finally:
        parallel.close()
        sequential.close()


def test_a_busy_pool_reports_each_place_in_line_and_its_depth() -> None:
    pool = WorkPool(2, "test-pool")
    release = threading.Event()
    places: list[int] = []
    try:
        running = [pool.submit(release.wait, on_queued=places.append) for _ in range(2)]
        assert places == [] and pool.queue_depth() == 0  # two workers free: nobody waits
        waiting = [pool.submit(release.wait, on_queued=places.append) for _ in range(3)]
        assert places == [0, 1, 2] and pool.queue_depth() == 3
        release.set()
        wait(running + waiting, timeout=30)
        assert pool.queue_depth() == 0 and pool.busy() == 0
    finally:
        release.set()
        pool.shutdown()


def test_the_service_tells_a_waiting_question_how_many_are_ahead(sample_data_dir: Path) -> None:
    answers = service(sample_data_dir, answer_workers=1)
    release = threading.Event()
    try:
        blocker = answers.pool.submit(release.wait)
        places: list[int] = []
        future = answers.submit(QUESTIONS[0], on_queued=places.append)
        assert places == [0] and answers.queue_depth() == 1 and not future.done()
        release.set()
        assert future.result(timeout=60).grounded and blocker.result(timeout=10)
    finally:
        release.set()
        answers.close()


def test_a_repeated_question_is_answered_from_the_cache(sample_data_dir: Path) -> None:
    answers = service(sample_data_dir)
    try:
        first = answers.submit(QUESTIONS[0]).result(timeout=60)
        again = answers.submit("  how does RECIPROCAL rank fusion combine bm25 and dense retrieval? ")
        assert again.done()  # no pool, no search: straight from the cache
        hit = again.result()
        assert hit.text == first.text and hit.citations == first.citations
        assert hit.question == "how does RECIPROCAL rank fusion combine bm25 and dense retrieval?"  # titled as this student asked
        assert answers.cache.stats.hits == 1
        # another thread history is another question
        answers.submit(QUESTIONS[0], [Turn("What is BM25?", "A keyword score.")]).result(timeout=60)
        assert answers.cache.stats.hits == 1
        with pytest.raises(QuestionError):
            answers.submit("   ").result(timeout=5)
    finally:
        answers.close()


def test_a_re_ingest_invalidates_the_cache(sample_data_dir: Path, tmp_path: Path) -> None:
    answers = service(sample_data_dir)
    question = "How does the marmot hibernation schedule affect burrow temperature?"
    try:
        before = answers.submit(question).result(timeout=60)
        assert answers.submit(question).result(timeout=60).text == before.text and answers.cache.stats.hits == 1
        assert not before.grounded  # the sample course says nothing about marmots

        course = tmp_path / "course"
        course.mkdir()
        for source in SAMPLE_COURSE.iterdir():
            (course / source.name).write_bytes(source.read_bytes())
        (course / "ct-marmots-501.txt").write_text(
            "today we look at the marmot hibernation schedule and burrow temperature. "
            "the marmot hibernation schedule sets burrow temperature: during hibernation the burrow temperature "
            "stays near five degrees because marmots huddle together. when the hibernation schedule ends in spring "
            "the burrow temperature rises and the marmots wake up. " * 3
        )
        report = Ingestor(answers.settings, answers.bundle).ingest([course])
        assert report.succeeded

        after = answers.submit(question).result(timeout=60)
        assert answers.cache.stats.hits == 1  # not served from the cache
        assert after.grounded and "marmot" in after.text.lower()
    finally:
        answers.close()
