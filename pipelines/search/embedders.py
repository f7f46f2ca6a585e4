"""Sentence-transformers embedders configured once for indexing, querying and answering.

The bundled all-MiniLM-L6-v2 (or any local path / model name from settings) is loaded through
sentence-transformers-haystack, whose backend factory shares one loaded model between the
document and text embedders. Chunks are embedded with their video title in front, because
students name the topic ("in the tokenizer video...") more often than the exact words.
"""

from __future__ import annotations

import os
from pathlib import Path

from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from pipelines.settings import Settings


def _local_only(model: str) -> bool:
    """Load without contacting the hub when the model is a local path or the hub is declared offline."""
    return Path(model).exists() or os.environ.get("HF_HUB_OFFLINE") == "1"


def document_embedder(settings: Settings, *, with_title: bool = True) -> SentenceTransformersDocumentEmbedder:
    """Embeds documents with normalised vectors; ``with_title`` puts the video title in front of each chunk."""
    return SentenceTransformersDocumentEmbedder(
        model=settings.embedding_model,
        batch_size=settings.embedding_batch_size,
        progress_bar=False,
        normalize_embeddings=True,
        meta_fields_to_embed=["title"] if with_title else [],
        embedding_separator=". ",
        local_files_only=_local_only(settings.embedding_model),
    )


def text_embedder(settings: Settings) -> SentenceTransformersTextEmbedder:
    """Embeds a question with the same model and normalisation as the indexed documents, so scores compare."""
    return SentenceTransformersTextEmbedder(
        model=settings.embedding_model,
        batch_size=settings.embedding_batch_size,
        progress_bar=False,
        normalize_embeddings=True,
        local_files_only=_local_only(settings.embedding_model),
    )
