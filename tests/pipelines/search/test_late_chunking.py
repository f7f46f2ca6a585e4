"""COURSE_TA_SENTENCE_VECTORS=late: sentence vectors pooled from the chunk's own forward pass, stored like the separate ones."""

from __future__ import annotations

import base64
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from bot.cli.demo import SAMPLE_COURSE
from pipelines.freshness.ingest import Ingestor
from pipelines.search.embedders import LateChunkingDocumentEmbedder, document_embedder
from pipelines.search.late_chunking import LATE, SEPARATE, TokenPass, pool_spans
from pipelines.search.query import build_query_pipeline, query_inputs
from pipelines.search.sentence_vectors import (
    FIELD,
    attach,
    chunk_sentences,
    embedder_space,
    scored_positions,
    stored_method,
    stored_vectors,
    text_vectors,
)
from pipelines.settings import SettingsError, load_settings
from pipelines.stores.document_store import open_store
from tests.pipelines.search.conftest import record_embedded

QUESTIONS = [
    "how does whisper turn audio into text?",
    "what is retrieval augmented generation?",
    "why do contrastive losses need negatives?",
    "how can a voice be cloned from a few clips?",
]


def _bare(chunks: list[Document]) -> list[Document]:
    """The chunks as chunking hands them to the embedder: no embedding, no sentence vectors."""
    return [Document(id=d.id, content=d.content, meta={k: v for k, v in d.meta.items() if k != FIELD}) for d in chunks]


def _chunks(settings) -> list[Document]:
    return [d for d in open_store(settings).store.filter_documents() if d.meta.get("kind") == "chunk"]


def test_the_setting_is_validated_and_picks_the_indexing_embedder() -> None:
    assert load_settings().sentence_vectors == SEPARATE
    with pytest.raises(SettingsError, match="COURSE_TA_SENTENCE_VECTORS"):
        load_settings(sentence_vectors="sometimes")
    late = load_settings(sentence_vectors=LATE)
    assert isinstance(document_embedder(late), LateChunkingDocumentEmbedder)
    assert not isinstance(document_embedder(late, with_title=False), LateChunkingDocumentEmbedder)  # the answerer's embedder
    assert not isinstance(document_embedder(load_settings()), LateChunkingDocumentEmbedder)


def test_late_chunk_vectors_equal_the_plain_embedders_and_each_sentence_gets_a_unit_row(sample_index) -> None:
    settings, bundle = sample_index
    chunks = [d for d in bundle.store.filter_documents() if d.meta.get("kind") == "chunk"]
    plain = document_embedder(settings.model_copy(update={"sentence_vectors": SEPARATE}))
    late = document_embedder(settings.model_copy(update={"sentence_vectors": LATE}))
    plain.warm_up()
    late.warm_up()
    expected = np.asarray([d.embedding for d in plain.run(documents=_bare(chunks))["documents"]])
    embedded = late.run(documents=_bare(chunks))["documents"]
    assert [d.id for d in embedded] == [d.id for d in chunks]
    np.testing.assert_allclose(np.asarray([d.embedding for d in embedded]), expected, atol=1e-5)
    space = embedder_space(late)
    separate = document_embedder(settings, with_title=False)
    pooled_differently = 0
    for document in embedded:
        assert stored_method(document) == LATE
        sentences = chunk_sentences(document)
        vectors = stored_vectors(document, space)
        assert vectors is not None and sorted(vectors) == scored_positions(sentences) and vectors
        matrix = np.stack([vectors[p] for p in sorted(vectors)])
        assert len(document.meta[FIELD]["positions"]) == matrix.shape[0]  # one row per scored sentence
        raw = np.frombuffer(base64.b64decode(document.meta[FIELD]["data"]), dtype="<f2").reshape(matrix.shape)
        np.testing.assert_allclose(np.linalg.norm(raw.astype(np.float32), axis=1), 1.0, atol=2e-3)  # stored unit-norm
        alone = text_vectors(separate, [sentences[p][0] for p in sorted(vectors)], memo=False)
        pooled_differently += int(np.sum(np.sum(alone * matrix, axis=1) < 0.99))
    assert pooled_differently > 0  # the rows came from the chunk's pass, not from embedding each sentence again


def test_sentences_past_the_models_limit_are_embedded_on_their_own(sample_index) -> None:
    settings, _ = sample_index
    late = document_embedder(settings.model_copy(update={"sentence_vectors": LATE}))
    late.warm_up()
    words = ["gradient", "descent", "moves", "every", "weight", "a", "small", "step", "against", "its", "slope"]
    sentences = [" ".join(words[i % 5 :] + words[: i % 5]) + f" in lesson {i}." for i in range(40)]  # ~600 tokens: past 256
    content = " ".join(sentences)
    offsets = [content.index(s) for s in sentences]
    document = Document(content=content, meta={"kind": "chunk", "title": "Optimisation", "sentence_offsets": offsets})
    embedded = late.run(documents=[document])["documents"][0]
    vectors = stored_vectors(embedded, embedder_space(late))
    assert vectors is not None and sorted(vectors) == list(range(40))
    alone = text_vectors(document_embedder(settings, with_title=False), sentences, memo=False)
    similarity = [float(vectors[i] @ alone[i]) for i in range(40)]
    assert max(similarity[:5]) < 0.99  # early sentences were pooled from the chunk's tokens
    assert min(similarity[-10:]) > 0.999  # truncated ones were embedded alone (float16-rounded)


def test_pool_spans_refuses_spans_without_tokens_or_past_the_truncation() -> None:
    tokens = np.asarray([[9.0, 9.0], [1.0, 0.0], [0.0, 1.0], [3.0, 0.0], [9.0, 9.0]], dtype=np.float32)
    offsets = np.asarray([[0, 0], [0, 3], [4, 7], [8, 12], [0, 0]])  # [CLS] a b c [SEP]
    pooled = pool_spans(TokenPass(np.zeros(2), tokens, offsets), [(0, 7), (8, 12), (12, 12), (8, 20)])
    np.testing.assert_allclose(pooled[0], [np.sqrt(0.5), np.sqrt(0.5)])
    np.testing.assert_allclose(pooled[1], [1.0, 0.0])
    assert pooled[2] is None and pooled[3] is None
    assert pool_spans(TokenPass(np.zeros(2), None, None), [(0, 3)]) == [None]


def test_a_late_chunked_ingest_is_answered_from_its_stored_vectors_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sentence_vectors=LATE, llm_answers=False)
    Ingestor(settings).ingest([SAMPLE_COURSE])
    chunks = _chunks(settings)
    assert chunks and {stored_method(d) for d in chunks} == {LATE}
    pipeline = build_query_pipeline(settings, open_store(settings))
    pipeline.warm_up()
    answerer = pipeline.get_component("answerer")
    embedded = record_embedded(monkeypatch)
    answers = [pipeline.run(query_inputs(pipeline, q), include_outputs_from={"answerer"})["answerer"]["answer"] for q in QUESTIONS]
    assert embedded == [] and answerer.embedded_on_the_fly == 0  # no sentence was embedded at question time
    assert any(a.grounded and a.citations for a in answers)


def test_an_index_built_with_the_other_method_is_recognised_used_and_redone_by_separate_indexing(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sentence_vectors=SEPARATE)
    Ingestor(settings).ingest([SAMPLE_COURSE])
    bundle = open_store(settings)
    chunks = _chunks(settings)
    assert {stored_method(d) for d in chunks} == {SEPARATE}
    late_settings = settings.model_copy(update={"sentence_vectors": LATE, "llm_answers": False})
    pipeline = build_query_pipeline(late_settings, bundle)
    pipeline.warm_up()
    for question in QUESTIONS:
        pipeline.run(query_inputs(pipeline, question))
    assert pipeline.get_component("answerer").embedded_on_the_fly == 0  # same space: separate vectors serve a late setup

    late = document_embedder(late_settings)
    late.warm_up()
    late_chunks = late.run(documents=_bare(chunks))["documents"]
    plain = document_embedder(settings)
    assert not isinstance(plain, LateChunkingDocumentEmbedder)
    attach(late_chunks, late)  # the late embedder's own vectors are kept, not embedded again
    assert {stored_method(d) for d in late_chunks} == {LATE}
    attach(late_chunks, plain)  # separate indexing (or a reindex) makes them again its own way
    assert {stored_method(d) for d in late_chunks} == {SEPARATE}
    space = embedder_space(plain)
    for old, new in zip(chunks, late_chunks, strict=True):
        before, after = stored_vectors(old, space), stored_vectors(new, space)
        assert before is not None and after is not None and before.keys() == after.keys()
        assert min(float(before[p] @ after[p]) for p in before) > 0.999


@pytest.mark.timeout(600)
def test_the_onnx_backend_late_chunks_with_the_same_chunk_vectors(sample_index, tmp_path: Path) -> None:
    settings, bundle = sample_index
    chunks = [d for d in bundle.store.filter_documents() if d.meta.get("kind") == "chunk"][:4]
    onnx = settings.model_copy(update={"data_dir": tmp_path / "data", "embedding_backend": "onnx"})
    plain = document_embedder(onnx.model_copy(update={"sentence_vectors": SEPARATE}))
    late = document_embedder(onnx.model_copy(update={"sentence_vectors": LATE}))
    expected = np.asarray([d.embedding for d in plain.run(documents=_bare(chunks))["documents"]])
    embedded = late.run(documents=_bare(chunks))["documents"]
    np.testing.assert_allclose(np.asarray([d.embedding for d in embedded]), expected, atol=1e-5)
    for document in embedded:
        vectors = stored_vectors(document, embedder_space(late))
        assert stored_method(document) == LATE and vectors is not None
        assert sorted(vectors) == scored_positions(chunk_sentences(document))


def test_a_late_chunked_ingest_with_summaries_runs_each_chunk_once_and_embeds_no_sentence_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(data_dir=tmp_path / "data", sentence_vectors=LATE, summaries=True, llm_answers=False)
    embedded = record_embedded(monkeypatch)
    ingestor = Ingestor(settings)
    report = ingestor.ingest([SAMPLE_COURSE])
    assert report.count("failed") == 0
    stored = open_store(settings).store.filter_documents()
    chunks = [d for d in stored if d.meta.get("kind") == "chunk"]
    summaries = [d for d in stored if d.meta.get("kind") == "summary"]
    assert summaries and {stored_method(d) for d in chunks} == {LATE}
    # The extractive summaries took their sentence vectors from the chunks' passes, which indexing then reused.
    assert embedded == []
    assert ingestor.engine.resources.indexer.embedder.passes_run == len(chunks) + len(summaries)
