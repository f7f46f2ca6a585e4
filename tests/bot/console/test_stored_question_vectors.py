"""The answer log keeps each question's vector as the query pipeline made it, and the gap clustering uses it.

Everything runs for real: the sample course's query pipeline answers, the answer log stores, the
console's clustering reads the log with the project's embedder; :attr:`GapFinder.embedded` counts
what the clustering had to embed itself.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from bot.answering.feedback import AnswerLog, unpack_vector
from bot.answering.service import AnswerService
from bot.console.data import gap_questions
from bot.console.gaps import GapFinder, project_embedder
from pipelines.search.embedders import embedding_space
from pipelines.settings import load_settings
from tests.bot.console.console_seed import GAP_GROUPS

DECLINED = [*GAP_GROUPS["gpu"], *GAP_GROUPS["docker"]]


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory, _sample_store: Path):
    """The sample course's service answering questions it does not cover (declined, so they are coverage gaps)."""
    data_dir = tmp_path_factory.mktemp("vectors") / "data"
    shutil.copytree(_sample_store, data_dir / "store")
    settings = load_settings(data_dir=data_dir, answer_cache_size=0)
    service = AnswerService(settings)
    answers = [service.answer(question) for question in DECLINED]
    assert not any(a.grounded for a in answers)
    return settings, answers


def test_the_answer_carries_the_query_vector_outside_its_json_contract(answered) -> None:
    settings, answers = answered
    first = answers[0]
    assert first.embedding_model == embedding_space(settings)
    assert first.query_embedding is not None and len(first.query_embedding) == 384
    assert "query_embedding" not in first.to_dict() and "embedding" not in str(first.to_dict())
    assert "query_embedding" not in repr(first)
    twin = type(first)(**{**first.__dict__, "query_embedding": None, "embedding_model": ""})
    assert twin == first  # equality ignores the vector


def test_stored_vectors_are_written_and_the_clustering_embeds_nothing(answered, tmp_path: Path) -> None:
    settings, answers = answered
    path = tmp_path / "feedback.sqlite"
    log = AnswerLog(path)
    for number, answer in enumerate(answers):
        log.record_answer("slack", "C0COURSE01", f"{1000 + number}.000100", "U0STUDENT1", answer)
    embed = project_embedder(settings)
    db = sqlite3.connect(path)
    blob, model = db.execute("SELECT embedding, embedding_model FROM answers WHERE question = ?", (DECLINED[0],)).fetchone()
    db.close()
    assert len(blob) == 384 * 2 and model == embedding_space(settings)  # float16
    fresh = embed([DECLINED[0]])[0]
    stored = unpack_vector(blob)
    assert float(stored @ fresh / np.linalg.norm(stored)) > 0.999  # the very vector the console would have made

    finder = GapFinder(embed, space=embedding_space(settings))
    clusters = finder.clusters(gap_questions(path))
    assert finder.embedded == 0
    found = sorted(sorted(q for q, _ in c.questions) for c in clusters)
    assert found == sorted([sorted(GAP_GROUPS["gpu"]), sorted(GAP_GROUPS["docker"])])


def test_vectors_of_another_model_and_rows_without_one_are_embedded_in_batches(answered, tmp_path: Path) -> None:
    settings, answers = answered
    path = tmp_path / "feedback.sqlite"
    log = AnswerLog(path)
    older = answers[0]
    older.embedding_model, kept = "sentence-transformers/an-earlier-model", older.embedding_model
    try:
        for number, answer in enumerate(answers):
            log.record_answer("discord", "931", str(number), "931000000000000042", answer)
    finally:
        older.embedding_model = kept
    db = sqlite3.connect(path)  # and one row from before vectors were kept
    with db:
        db.execute("UPDATE answers SET embedding = NULL, embedding_model = NULL WHERE question = ?", (DECLINED[1],))
    db.close()

    calls: list[int] = []
    embed = project_embedder(settings)

    def counted(texts):
        calls.append(len(texts))
        return embed(texts)

    finder = GapFinder(counted, space=embedding_space(settings))
    clusters = finder.clusters(gap_questions(path))
    assert finder.embedded == 2 and calls == [2]  # one batch with just those two
    assert sorted(sorted(q for q, _ in c.questions) for c in clusters) == sorted([sorted(GAP_GROUPS["gpu"]), sorted(GAP_GROUPS["docker"])])
    finder.clusters(gap_questions(path))
    assert finder.embedded == 2  # remembered: a re-run embeds nothing new

    other_space = GapFinder(counted, space="another-space")  # a console configured with another model uses none of them
    other_space.clusters(gap_questions(path))
    assert other_space.embedded == len(DECLINED)
