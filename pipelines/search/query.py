"""The Haystack query pipeline: a question in, an :class:`Answer` with timed citations out.

    question ─► text_embedder ─► dense_retriever ─┐
            └──────────────────► bm25_retriever ──┴► fusion (reciprocal rank) ─► [reranker] ─► diversity ─► answerer

Dense retrieval understands paraphrased student questions; BM25 catches exact names the embedding
model never saw ("LoRA", "BPE"). Reciprocal rank fusion merges them without comparing their
incompatible scores. ``mode`` keeps single-retriever variants for benchmarks and evaluation.
"""

from __future__ import annotations

from typing import Any, Literal

from haystack import Pipeline

from pipelines.search.calibration import effective_min_relevance
from pipelines.search.embedders import document_embedder, text_embedder
from pipelines.search.offline_answerer import OfflineAnswerer
from pipelines.search.rank_fusion import WeightedRankFusion
from pipelines.search.reranking import build_reranker
from pipelines.search.video_diversity import VideoDiversityRanker
from pipelines.settings import Settings
from pipelines.stores.document_store import StoreBundle

RetrievalMode = Literal["hybrid", "dense", "bm25"]
# Dense retrieval beats BM25 on student-style questions, and RRF (k=61) is so flat that an equal
# vote lets BM25 reorder the dense top. Measured on the 241-video corpus, 194 questions with a known
# video (benchmarks/ingest_query_bench.py): dense alone hit@3 0.979; RRF 0.6/0.4 0.933, 0.8/0.2 0.943,
# 0.9/0.1 0.974. BM25 keeps a say for names the embedding model never saw ("LoRA", "BPE").
DENSE_WEIGHT, BM25_WEIGHT = 0.9, 0.1
# Answers quote lecture chunks; per-video summary documents are for /summary and `course-ta summary`.
CHUNKS_ONLY = {"field": "meta.kind", "operator": "==", "value": "chunk"}


def build_retrieval_pipeline(settings: Settings, bundle: StoreBundle, mode: RetrievalMode = "hybrid") -> Pipeline:
    """Retrieval only: ends in the diversity ranker (used by the answer pipeline and by evaluation)."""
    pipeline = Pipeline()
    pipeline.add_component("text_embedder", text_embedder(settings))
    pipeline.add_component("diversity", VideoDiversityRanker(top_k=settings.top_k, max_per_video=settings.max_chunks_per_video))
    if mode in ("hybrid", "dense"):
        pipeline.add_component("dense_retriever", bundle.embedding_retriever(top_k=settings.candidates, filters=CHUNKS_ONLY))
        pipeline.connect("text_embedder.embedding", "dense_retriever.query_embedding")
    if mode in ("hybrid", "bm25"):
        pipeline.add_component("bm25_retriever", bundle.bm25_retriever(top_k=settings.candidates, filters=CHUNKS_ONLY))
    # Optional cross-encoder stage, for search quality: off unless COURSE_TA_RERANKER_MODEL is set.
    reranker = build_reranker(settings)
    ranked_into = "diversity.documents"
    if reranker is not None:
        pipeline.add_component("reranker", reranker)
        pipeline.connect("reranker.documents", "diversity.documents")
        ranked_into = "reranker.documents"
    if mode == "hybrid":
        pipeline.add_component("fusion", WeightedRankFusion(dense_weight=DENSE_WEIGHT, bm25_weight=BM25_WEIGHT))
        pipeline.connect("dense_retriever.documents", "fusion.dense_documents")
        pipeline.connect("bm25_retriever.documents", "fusion.bm25_documents")
        pipeline.connect("fusion.documents", ranked_into)
    elif mode == "dense":
        pipeline.connect("dense_retriever.documents", ranked_into)
    else:
        pipeline.connect("bm25_retriever.documents", ranked_into)
    return pipeline


def build_query_pipeline(settings: Settings, bundle: StoreBundle, mode: RetrievalMode = "hybrid") -> Pipeline:
    """Retrieval plus the answerer: the LLM one when configured, else the offline extractive one."""
    pipeline = build_retrieval_pipeline(settings, bundle, mode)
    answerer = OfflineAnswerer(
        embedder=document_embedder(settings, with_title=False),
        min_relevance=effective_min_relevance(settings),
        store_name=bundle.name,
    )
    pipeline.add_component("answerer", _llm_answerer(settings, answerer) or answerer)
    pipeline.connect("diversity.documents", "answerer.documents")
    # The answerer also sees the ranked list before the per-video cap, to find moments deeper in a long lecture.
    ranked = [source for source, _ in pipeline.graph.in_edges("diversity")]
    pipeline.connect(f"{ranked[0]}.documents", "answerer.passages")
    pipeline.connect("text_embedder.embedding", "answerer.query_embedding")
    return pipeline


def _llm_answerer(settings: Settings, offline: OfflineAnswerer) -> Any:
    """With an LLM configured for answers, answers are written by it; it falls back to ``offline``. None otherwise."""
    from pipelines.llm.client import LLMClient, llm_configured

    if not (settings.llm_answers and llm_configured(settings)):
        return None
    from pipelines.llm.llm_answerer import LLMAnswerer

    return LLMAnswerer(offline, LLMClient(settings, budget=False), max_passages=settings.top_k, max_tokens=settings.llm_answer_max_tokens)


def query_inputs(pipeline: Pipeline, question: str, retrieval_query: str | None = None) -> dict[str, Any]:
    """Route the question to every component of ``pipeline`` that takes it."""
    search = retrieval_query or question
    data: dict[str, Any] = {"text_embedder": {"text": search}}
    names = set(pipeline.graph.nodes)
    if "bm25_retriever" in names:
        data["bm25_retriever"] = {"query": search}
    if "reranker" in names:
        data["reranker"] = {"query": search}
    if "answerer" in names:
        data["answerer"] = {"question": question}
    return data
