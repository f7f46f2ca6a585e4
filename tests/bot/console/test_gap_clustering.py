"""Coverage-gap clustering finds hand-made groups, labels each by its most central question and points at the nearest lecture."""

from __future__ import annotations

import numpy as np
import pytest

from bot.console.data import GapQuestion
from bot.console.gaps import GapFinder, cluster_vectors, index_moment_finder, project_embedder
from pipelines.settings import load_settings
from tests.bot.console.console_seed import GAP_GROUPS

RAG = [
    "How does retrieval-augmented generation find passages?",
    "What does the retriever do in RAG?",
    "Explain retrieval augmented generation step by step",
]


@pytest.fixture(scope="module")
def embed():
    return project_embedder(load_settings())


def test_hand_made_groups_are_recovered(embed):
    groups = {**GAP_GROUPS, "rag": RAG}
    questions = [GapQuestion(q, True, False, 0.0) for group in groups.values() for q in group]
    questions.append(GapQuestion("When is the final exam?", False, True, 0.0))  # asked twice: counted, embedded once
    clusters = GapFinder(embed).clusters(questions)
    found = sorted(sorted(q for q, _ in c.questions) for c in clusters)
    assert found == sorted(sorted(group) for group in groups.values())
    exam = next(c for c in clusters if "When is the final exam?" in dict(c.questions))
    assert exam.count == 5 and exam.thumbs_down == 1 and exam.not_covered == 4
    assert clusters[0] is exam and exam.number == 1  # largest first
    for cluster in clusters:
        assert cluster.label == cluster.questions[0][0] and cluster.label not in cluster.examples


def test_closest_lecture_moment_comes_from_the_index(embed, sample_data_dir):
    settings = load_settings(data_dir=sample_data_dir)
    finder = GapFinder(embed, index_moment_finder(settings, embed))
    (cluster,) = finder.clusters([GapQuestion(q, True, False, 0.0) for q in RAG])
    assert cluster.moment is not None
    assert cluster.moment.video_id == "ct-rag-101" and "#t=" in cluster.moment.url and cluster.moment.text


def test_large_sets_go_through_micro_clusters():
    rng = np.random.default_rng(0)
    centres = np.eye(32)[:4] * 3  # four unrelated topics (cosine distance 1 between them)
    points = np.concatenate([centre + 0.2 * rng.normal(size=(600, 32)) for centre in centres])
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    labels = cluster_vectors(points)
    assert len(set(labels)) == 4
    assert all(len(set(labels[i * 600 : (i + 1) * 600])) == 1 for i in range(4))
