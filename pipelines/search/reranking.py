"""The optional cross-encoder rerank stage: reads (question, passage) pairs together, after fusion.

A cross-encoder scores a question and a passage jointly, which is more accurate than comparing two
separate embeddings but far slower, so it only reorders the top ``rerank_top_k`` fused candidates.
No cross-encoder with bundled weights ships on PyPI (see the README's search-quality section), and models cannot be
downloaded here, so the stage is off unless ``COURSE_TA_RERANKER_MODEL`` names a local directory
(or a hub name where downloads are allowed) holding a sentence-transformers CrossEncoder.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pipelines.settings import Settings


def build_reranker(settings: Settings) -> Any | None:
    """A Haystack ranker for the configured cross-encoder, or None when reranking is off."""
    if not settings.reranker_model:
        return None
    from haystack_integrations.components.rankers.sentence_transformers import SentenceTransformersSimilarityRanker

    local = Path(settings.reranker_model).exists() or os.environ.get("HF_HUB_OFFLINE") == "1"
    return SentenceTransformersSimilarityRanker(
        model=settings.reranker_model,
        top_k=settings.rerank_top_k,
        meta_fields_to_embed=["title"],
        embedding_separator=". ",
        scale_score=True,
        batch_size=settings.embedding_batch_size,
        model_kwargs={"local_files_only": True} if local else None,
        tokenizer_kwargs={"local_files_only": True} if local else None,
        config_kwargs={"local_files_only": True} if local else None,
    )
