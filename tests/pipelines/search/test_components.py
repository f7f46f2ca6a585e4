"""Our Haystack components follow the @component contract: they serialise and rebuild."""

from __future__ import annotations

from pathlib import Path

from haystack import Document, Pipeline

from bot.cli.demo import SAMPLE_COURSE
from pipelines.freshness.ingest import Ingestor
from pipelines.search.embedders import document_embedder
from pipelines.search.offline_answerer import OfflineAnswerer
from pipelines.search.query import build_query_pipeline, build_retrieval_pipeline
from pipelines.search.video_diversity import VideoDiversityRanker
from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store
from pipelines.stores.embedded_store import PersistentInMemoryDocumentStore


def test_video_diversity_caps_each_video_and_round_trips() -> None:
    ranker = VideoDiversityRanker(top_k=3, max_per_video=1)
    documents = [Document(content=str(i), meta={"video_id": v}) for i, v in enumerate("aabbc")]
    kept = ranker.run(documents=documents)["documents"]
    assert [d.meta["video_id"] for d in kept] == ["a", "b", "c"]
    rebuilt = VideoDiversityRanker.from_dict(ranker.to_dict())
    assert (rebuilt.top_k, rebuilt.max_per_video) == (3, 1)


def test_offline_answerer_round_trips_with_its_embedder() -> None:
    settings = load_settings()
    answerer = OfflineAnswerer(embedder=document_embedder(settings, with_title=False), min_relevance=0.5, store_name="embedded")
    rebuilt = OfflineAnswerer.from_dict(answerer.to_dict())
    assert rebuilt.min_relevance == 0.5
    assert rebuilt.embedder.to_dict() == answerer.embedder.to_dict()


def test_query_pipeline_serialises_and_answers_after_loading(tmp_path: Path) -> None:
    settings = load_settings()
    Ingestor(settings).ingest([SAMPLE_COURSE])
    pipeline = build_query_pipeline(settings, open_store(settings))
    loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["pipelines"])
    store = loaded.get_component("dense_retriever").document_store
    assert isinstance(store, PersistentInMemoryDocumentStore)
    assert store.count_documents_by_filter({"field": "meta.kind", "operator": "==", "value": "chunk"}) == 10
    question = "Why should I turn on voice activity detection with Whisper?"
    result = loaded.run({"text_embedder": {"text": question}, "bm25_retriever": {"query": question}, "answerer": {"question": question}})
    answer = result["answerer"]["answer"]
    assert answer.grounded and answer.citations[0].video_id == "ct-whisper-301"


def test_retrieval_modes_differ_only_in_their_retrievers() -> None:
    settings = load_settings()
    bundle = open_store(settings)
    names = {mode: set(build_retrieval_pipeline(settings, bundle, mode).graph.nodes) for mode in ("hybrid", "dense", "bm25")}
    assert names["hybrid"] == {"text_embedder", "dense_retriever", "bm25_retriever", "fusion", "diversity"}
    assert names["dense"] == {"text_embedder", "dense_retriever", "diversity"}
    assert names["bm25"] == {"text_embedder", "bm25_retriever", "diversity"}


def test_fusion_weights_follow_the_retriever_not_the_order_lists_arrive_in() -> None:
    from pipelines.search.rank_fusion import WeightedRankFusion

    dense_first = Document(id="dense-top", content="a")
    bm25_first = Document(id="bm25-top", content="b")
    fusion = WeightedRankFusion(dense_weight=0.9, bm25_weight=0.1)
    fused = fusion.run(dense_documents=[dense_first, bm25_first], bm25_documents=[bm25_first, dense_first])["documents"]
    assert [d.id for d in fused] == ["dense-top", "bm25-top"]
    flipped = WeightedRankFusion(dense_weight=0.1, bm25_weight=0.9).run(
        dense_documents=[dense_first, bm25_first], bm25_documents=[bm25_first, dense_first]
    )["documents"]
    assert [d.id for d in flipped] == ["bm25-top", "dense-top"]
    assert WeightedRankFusion.from_dict(fusion.to_dict()).dense_weight == 0.9


def test_answers_retrieve_lecture_chunks_not_summary_documents() -> None:
    settings = load_settings()
    Ingestor(settings).ingest([SAMPLE_COURSE])
    bundle = open_store(settings)
    assert bundle.store.count_documents_by_filter({"field": "meta.kind", "operator": "==", "value": "summary"}) > 0
    pipeline = build_retrieval_pipeline(settings, bundle, "hybrid")
    question = "Why are hard negatives better than random negatives?"
    embedder = pipeline.get_component("text_embedder")
    embedder.warm_up()
    dense = pipeline.get_component("dense_retriever").run(query_embedding=embedder.run(text=question)["embedding"])["documents"]
    bm25 = pipeline.get_component("bm25_retriever").run(query=question)["documents"]
    for found in (dense, bm25):
        assert found and {d.meta["kind"] for d in found} == {"chunk"}
