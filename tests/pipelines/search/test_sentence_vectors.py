"""Sentence vectors are computed at index time, stored with their chunk, and answering only takes dot products.

These tests pin ``COURSE_TA_SENTENCE_VECTORS=separate`` (each sentence embedded alone), whose vectors must
equal embedding the sentence at question time; the late-chunked default is tested in test_late_chunking.py.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from bot.cli.demo import SAMPLE_COURSE
from pipelines.freshness.ingest import Ingestor
from pipelines.search.embedders import document_embedder
from pipelines.search.offline_answerer import OfflineAnswerer
from pipelines.search.query import build_query_pipeline, query_inputs
from pipelines.search.sentence_vectors import FIELD, chunk_sentences, embedder_space, scored_positions, stored_vectors, text_vectors
from pipelines.settings import bundled_embedding_model, load_settings
from pipelines.stores.document_store import open_store
from tests.pipelines.search.conftest import record_embedded

QUESTIONS = [
    "how does whisper turn audio into text?",
    "what is retrieval augmented generation?",
    "why do contrastive losses need negatives?",
    "how can a voice be cloned from a few clips?",
    "what does the retriever return before the generator writes?",
    "how do I bake a sourdough bread?",
]


@pytest.fixture(scope="module")
def separate_index(tmp_path_factory: pytest.TempPathFactory):
    """(settings, bundle): the sample course indexed with separately embedded sentence vectors."""
    settings = load_settings(data_dir=tmp_path_factory.mktemp("separate-index"), sentence_vectors="separate")
    ingestor = Ingestor(settings)
    assert ingestor.ingest([SAMPLE_COURSE]).count("added") == 4
    return settings, ingestor.bundle


def _chunks(settings) -> list[Document]:
    return [d for d in open_store(settings).store.filter_documents() if d.meta.get("kind") == "chunk"]


def _assert_vectors_match_the_sentences(settings, chunks: list[Document]) -> None:
    embedder = document_embedder(settings, with_title=False)
    embedder.warm_up()
    space = embedder_space(embedder)
    for document in chunks:
        vectors = stored_vectors(document, space)
        assert vectors is not None, document.meta["video_id"]
        sentences = chunk_sentences(document)
        assert sorted(vectors) == scored_positions(sentences) and vectors
        fresh = text_vectors(embedder, [sentences[p][0] for p in sorted(vectors)], memo=False)
        stored = np.stack([vectors[p] for p in sorted(vectors)])
        assert np.min(np.sum(fresh * stored, axis=1)) > 0.999  # the same model's vectors, float16-rounded


def test_ingest_stores_each_chunks_sentence_vectors_and_a_reingest_keeps_them(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sentence_vectors="separate")
    Ingestor(settings).ingest([SAMPLE_COURSE])
    documents = open_store(settings).store.filter_documents()  # read back from disk: the store persists the field
    chunks = [d for d in documents if d.meta.get("kind") == "chunk"]
    assert chunks and all(FIELD in d.meta for d in chunks)
    assert not any(FIELD in d.meta for d in documents if d.meta.get("kind") != "chunk")
    assert {d.meta[FIELD]["model"] for d in chunks} == {bundled_embedding_model()}
    _assert_vectors_match_the_sentences(settings, chunks)
    again = Ingestor(settings).ingest([SAMPLE_COURSE])
    assert again.count("unchanged") == 4
    assert {d.id: d.meta[FIELD] for d in _chunks(settings)} == {d.id: d.meta[FIELD] for d in chunks}


def test_a_model_switch_re_embeds_the_sentence_vectors(tmp_path: Path) -> None:
    first = load_settings(data_dir=tmp_path / "data", sentence_vectors="separate")
    Ingestor(first).ingest([SAMPLE_COURSE])
    switched_model = tmp_path / "switched-model"  # another model id (a path), same weights: every vector must be redone
    switched_model.symlink_to(bundled_embedding_model(), target_is_directory=True)
    second = load_settings(data_dir=tmp_path / "data", embedding_model=str(switched_model), sentence_vectors="separate")
    Ingestor(second).ingest([SAMPLE_COURSE])
    chunks = _chunks(second)
    assert chunks and {d.meta[FIELD]["model"] for d in chunks} == {str(switched_model)}
    _assert_vectors_match_the_sentences(second, chunks)


def _answers(pipeline, answerer: OfflineAnswerer) -> list[tuple]:
    out = []
    for question in QUESTIONS:
        answer = pipeline.run(query_inputs(pipeline, question), include_outputs_from={"answerer"})["answerer"]["answer"]
        out.append((answer.text, answer.grounded, [(c.video_id, c.start_s, c.end_s, c.quote) for c in answer.citations]))
    return out


def test_answers_from_stored_vectors_equal_answers_that_embed_sentences_per_question(separate_index) -> None:
    settings, bundle = separate_index
    pipeline = build_query_pipeline(settings.model_copy(update={"llm_answers": False}), bundle)
    pipeline.warm_up()
    answerer = pipeline.get_component("answerer")
    stored = _answers(pipeline, answerer)
    assert answerer.embedded_on_the_fly == 0  # nothing embedded at question time beyond the question
    answerer.use_stored_vectors = False
    embedded = _answers(pipeline, answerer)
    assert answerer.embedded_on_the_fly > 0
    assert stored == embedded
    assert any(grounded for _, grounded, _ in stored) and not stored[-1][1]


def test_an_index_without_vectors_or_from_another_model_falls_back_and_says_so_once(separate_index, caplog) -> None:
    settings, bundle = separate_index
    chunks = [d for d in bundle.store.filter_documents() if d.meta.get("kind") == "chunk"][:4]
    old = [Document(id=d.id, content=d.content, meta={k: v for k, v in d.meta.items() if k != FIELD}) for d in chunks]
    other = [Document(id=d.id, content=d.content, meta={**d.meta, FIELD: {**d.meta[FIELD], "model": "another-model"}}) for d in chunks]
    answerer = OfflineAnswerer(document_embedder(settings, with_title=False), min_relevance=-1.0)
    answerer.warm_up()
    query = document_embedder(settings, with_title=False).run(documents=[Document(content=QUESTIONS[0])])["documents"][0].embedding
    reference = answerer.run(question=QUESTIONS[0], query_embedding=query, documents=chunks)["answer"]
    assert answerer.embedded_on_the_fly == 0
    with caplog.at_level(logging.WARNING, logger="pipelines.search.offline_answerer"):
        for documents in (old, other, old):
            answer = answerer.run(question=QUESTIONS[0], query_embedding=query, documents=documents)["answer"]
            assert [(c.video_id, c.start_s, c.quote) for c in answer.citations] == [
                (c.video_id, c.start_s, c.quote) for c in reference.citations
            ]
    assert answerer.embedded_on_the_fly > 0
    assert len([r for r in caplog.records if "no sentence vectors" in r.getMessage()]) == 1


def test_stored_vectors_for_a_different_split_are_refused(separate_index) -> None:
    settings, bundle = separate_index
    chunk = next(d for d in bundle.store.filter_documents() if d.meta.get("kind") == "chunk")
    space = embedder_space(document_embedder(settings, with_title=False))
    assert stored_vectors(chunk, space) is not None
    resplit = Document(content=chunk.content, meta={**chunk.meta, "sentence_offsets": [0]})
    assert stored_vectors(resplit, space) is None
    broken = Document(content=chunk.content, meta={**chunk.meta, FIELD: {**chunk.meta[FIELD], "data": "not base64!"}})
    assert stored_vectors(broken, space) is None


def test_extractive_summaries_and_indexing_embed_each_sentence_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.search import sentence_vectors

    settings = load_settings(data_dir=tmp_path / "data", summaries=True, sentence_vectors="separate")
    sentence_vectors._memo.clear()
    embedded = record_embedded(monkeypatch)
    Ingestor(settings).ingest([SAMPLE_COURSE])
    assert embedded and len(embedded) == len(set(embedded))  # the summary's sentences were not embedded again for the index
    from pipelines.llm.summaries import list_summaries, load_summary

    points = {p.text for video in list_summaries(settings) for p in load_summary(settings, video).points}
    assert points and points <= set(embedded)  # the summary took its vectors from the shared path
    assert all(FIELD in d.meta for d in _chunks(settings))
