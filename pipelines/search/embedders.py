"""Sentence-transformers embedders configured once for indexing, querying and answering.

The bundled all-MiniLM-L6-v2 (or any local path / model name from settings) is loaded through
sentence-transformers-haystack, whose backend factory shares one loaded model between the
document and text embedders; with ``COURSE_TA_EMBEDDING_BACKEND=onnx`` (or ``onnx-int8``) the same model
runs on onnxruntime instead (:mod:`pipelines.search.onnx_backend`), through components with the same
inputs and outputs. Chunks are embedded with their video title in front, because
students name the topic ("in the tokenizer video...") more often than the exact words.

With ``COURSE_TA_SENTENCE_VECTORS=late`` the indexing embedder is :class:`LateChunkingDocumentEmbedder`:
the same chunk vectors, and each chunk's sentence vectors pooled from that same forward pass
(:mod:`pipelines.search.late_chunking`) instead of a second pass per sentence.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack_integrations.components.embedders.sentence_transformers import (
    SentenceTransformersDocumentEmbedder,
    SentenceTransformersTextEmbedder,
)

from pipelines.search.late_chunking import LATE, SEPARATE, TokenPass, torch_mean_pooled, torch_passes
from pipelines.search.onnx_backend import TORCH, shared_encoder, vector_space
from pipelines.search.sentence_vectors import FIELD, attach_late, embedder_space
from pipelines.settings import Settings

ONNX_CACHE = "onnx"
# Forward passes a late-chunking embedder remembers (per embedder, by the exact text encoded): the
# extractive summary of a video runs the chunk passes first and indexing the video next reuses them.
# A video has at most a few hundred chunks and each sync worker indexes right after summarizing.
PASS_MEMO_SIZE = 4096


def _local_only(model: str) -> bool:
    """Load without contacting the hub when the model is a local path or the hub is declared offline."""
    return Path(model).exists() or os.environ.get("HF_HUB_OFFLINE") == "1"


def onnx_cache(settings: Settings) -> Path:
    """Where exported models are kept: ``$DATA_DIR/models/onnx``."""
    return settings.data_dir / "models" / ONNX_CACHE


def embedding_space(settings: Settings) -> str:
    """The name of the vector space the configured model and backend embed into (see :func:`vector_space`)."""
    return vector_space(settings.embedding_model, settings.embedding_backend)


def document_embedder(settings: Settings, *, with_title: bool = True) -> Any:
    """Embeds documents with normalised vectors; ``with_title`` puts the video title in front of each chunk.

    The indexing embedder (``with_title``) late-chunks when ``COURSE_TA_SENTENCE_VECTORS=late``.
    """
    if with_title and settings.sentence_vectors == LATE:
        return LateChunkingDocumentEmbedder(
            model=settings.embedding_model,
            backend=settings.embedding_backend,
            cache_dir=str(onnx_cache(settings)),
            batch_size=settings.embedding_batch_size,
            meta_fields_to_embed=["title"],
            local_files_only=_local_only(settings.embedding_model),
        )
    if settings.embedding_backend != TORCH:
        return OnnxDocumentEmbedder(
            model=settings.embedding_model,
            backend=settings.embedding_backend,
            cache_dir=str(onnx_cache(settings)),
            batch_size=settings.embedding_batch_size,
            meta_fields_to_embed=["title"] if with_title else [],
        )
    return SentenceTransformersDocumentEmbedder(
        model=settings.embedding_model,
        batch_size=settings.embedding_batch_size,
        progress_bar=False,
        normalize_embeddings=True,
        meta_fields_to_embed=["title"] if with_title else [],
        embedding_separator=". ",
        local_files_only=_local_only(settings.embedding_model),
    )


def text_embedder(settings: Settings) -> Any:
    """Embeds a question with the same model and normalisation as the indexed documents, so scores compare."""
    if settings.embedding_backend != TORCH:
        return OnnxTextEmbedder(model=settings.embedding_model, backend=settings.embedding_backend, cache_dir=str(onnx_cache(settings)))
    return SentenceTransformersTextEmbedder(
        model=settings.embedding_model,
        batch_size=settings.embedding_batch_size,
        progress_bar=False,
        normalize_embeddings=True,
        local_files_only=_local_only(settings.embedding_model),
    )


@component
class OnnxDocumentEmbedder:
    """The ONNX twin of SentenceTransformersDocumentEmbedder: same input, same text layout, ``embedding`` set on copies."""

    def __init__(
        self,
        model: str,
        backend: str = "onnx",
        cache_dir: str = "",
        batch_size: int = 64,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = ". ",
    ) -> None:
        self.model = model
        self.backend = backend
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self._encoder: Any = None

    def warm_up(self) -> None:
        """Export (first time only) and open the model."""
        if self._encoder is None:
            self._encoder = shared_encoder(self.model, self.backend, Path(self.cache_dir))

    def encode(self, texts: list[str]) -> Any:
        """Normalised float32 vectors of plain texts, one row each (used for sentences)."""
        self.warm_up()
        return self._encoder.encode(texts, self.batch_size)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Copies of ``documents`` with their embedding, the configured meta fields embedded in front of the content."""
        texts = []
        for document in documents:
            values = [str(document.meta[key]) for key in self.meta_fields_to_embed if document.meta.get(key)]
            texts.append(self.embedding_separator.join([*values, document.content or ""]))
        vectors = self.encode(texts) if texts else []
        return {
            "documents": [
                Document(id=d.id, content=d.content, meta=d.meta, embedding=v.tolist()) for d, v in zip(documents, vectors, strict=True)
            ]
        }

    def to_dict(self) -> dict[str, Any]:
        """Serialise the configuration (not the loaded model)."""
        return default_to_dict(
            self,
            model=self.model,
            backend=self.backend,
            cache_dir=self.cache_dir,
            batch_size=self.batch_size,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnnxDocumentEmbedder:
        """Rebuild from :meth:`to_dict`."""
        return default_from_dict(cls, data)


@component
class OnnxTextEmbedder:
    """The ONNX twin of SentenceTransformersTextEmbedder: a question in, its normalised vector out."""

    def __init__(self, model: str, backend: str = "onnx", cache_dir: str = "") -> None:
        self.model = model
        self.backend = backend
        self.cache_dir = cache_dir
        self._encoder: Any = None

    def warm_up(self) -> None:
        """Export (first time only) and open the model."""
        if self._encoder is None:
            self._encoder = shared_encoder(self.model, self.backend, Path(self.cache_dir))

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        """The embedding of ``text``."""
        if not isinstance(text, str):
            raise TypeError("OnnxTextEmbedder expects a string as input")
        self.warm_up()
        return {"embedding": self._encoder.encode([text])[0].tolist()}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the configuration (not the loaded model)."""
        return default_to_dict(self, model=self.model, backend=self.backend, cache_dir=self.cache_dir)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnnxTextEmbedder:
        """Rebuild from :meth:`to_dict`."""
        return default_from_dict(cls, data)


@component
class LateChunkingDocumentEmbedder:
    """The indexing embedder that also stores each chunk's sentence vectors, pooled from the chunk's own forward pass.

    Its ``embedding`` is the one the plain document embedder of the same backend gives (same text,
    title in front); chunks come out with ``sentence_vectors`` in meta (``method: late``), so the
    sentence vectorizer after it has nothing left to do. A model that does not mean-pool embeds
    sentences separately instead (its token states are not meant to be averaged).
    """

    def __init__(
        self,
        model: str,
        backend: str = TORCH,
        cache_dir: str = "",
        batch_size: int = 64,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = ". ",
        local_files_only: bool = False,
    ) -> None:
        self.model = model
        self.backend = backend
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.meta_fields_to_embed = list(meta_fields_to_embed or [])
        self.embedding_separator = embedding_separator
        self.local_files_only = local_files_only
        self._torch: Any = None
        self._onnx: Any = None
        self._passes_done: OrderedDict[str, tuple[list[float] | None, Any]] = OrderedDict()
        self._passes_lock = threading.Lock()
        self.passes_run = 0  # forward passes actually run (the rest came from the memo): for tests and benchmarks

    @property
    def sentence_method(self) -> str:
        """``late``, or ``separate`` for a model that does not mean-pool or lacks a fast tokenizer (no offsets); known once warmed up."""
        if self._torch is not None and not (torch_mean_pooled(self._torch) and getattr(self._torch.tokenizer, "is_fast", False)):
            return SEPARATE
        if self._onnx is not None and not (self._onnx.pooling == "mean" and getattr(self._onnx.tokenizer, "is_fast", False)):
            return SEPARATE
        return LATE

    def warm_up(self) -> None:
        """Load the model once, shared with the other embedders of the same model and backend."""
        if self._torch is not None or self._onnx is not None:
            return
        if self.backend == TORCH:
            inner = SentenceTransformersDocumentEmbedder(model=self.model, progress_bar=False, local_files_only=self.local_files_only)
            inner.warm_up()
            self._torch = inner.embedding_backend.model  # type: ignore[union-attr]
        else:
            self._onnx = shared_encoder(self.model, self.backend, Path(self.cache_dir))

    def encode(self, texts: list[str]) -> Any:
        """Normalised float32 vectors of plain texts, one row each (sentences the pass could not give)."""
        self.warm_up()
        if self._onnx is not None:
            return self._onnx.encode(texts, self.batch_size)
        return self._torch.encode(texts, batch_size=self.batch_size, normalize_embeddings=True, show_progress_bar=False)

    def _layout(self, document: Document) -> tuple[str, int]:
        """The text the plain embedder of this backend encodes for ``document``, and where its content starts in it."""
        if self.backend == TORCH:  # sentence-transformers-haystack keeps any non-None value
            values = [str(document.meta[k]) for k in self.meta_fields_to_embed if k in document.meta and document.meta[k] is not None]
        else:
            values = [str(document.meta[k]) for k in self.meta_fields_to_embed if document.meta.get(k)]
        head = "".join(value + self.embedding_separator for value in values)
        return head + (document.content or ""), len(head)

    def _passes(self, texts: list[str]) -> list[TokenPass]:
        if self._onnx is not None:
            return [TokenPass(vector, tokens, offsets) for vector, tokens, offsets in self._onnx.encode_tokens(texts, self.batch_size)]
        return torch_passes(self._torch, texts, self.batch_size)

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Copies of ``documents`` with their embedding; chunks also carry their sentence vectors in meta.

        A text this embedder encoded recently (the summary stage's pass over the same chunks) is not
        encoded again: its vector and sentence vectors come from the memo.
        """
        self.warm_up()
        layouts = [self._layout(d) for d in documents]
        with self._passes_lock:
            known = {text: self._passes_done[text] for text, _ in layouts if text in self._passes_done}
        fresh = [(d, layout) for d, layout in zip(documents, layouts, strict=True) if layout[0] not in known]
        passes = self._passes([text for _, (text, _) in fresh]) if fresh else []
        copies = [
            Document(id=d.id, content=d.content, meta=dict(d.meta), embedding=p.vector.tolist())
            for (d, _), p in zip(fresh, passes, strict=True)
        ]
        if copies and self.sentence_method == LATE:
            attach_late(copies, passes, [start for _, (_, start) in fresh], self, embedder_space(self))
        done = {text: (copy.embedding, copy.meta.get(FIELD)) for (_, (text, _)), copy in zip(fresh, copies, strict=True)}
        with self._passes_lock:
            self.passes_run += len(fresh)
            for text, result in done.items():
                self._passes_done[text] = result
                self._passes_done.move_to_end(text)
            while len(self._passes_done) > PASS_MEMO_SIZE:
                self._passes_done.popitem(last=False)
        results = {**known, **done}
        output = []
        for document, (text, _) in zip(documents, layouts, strict=True):
            embedding, field = results[text]
            meta = dict(document.meta)
            if field is not None and document.meta.get("kind") == "chunk":
                meta[FIELD] = field
            output.append(Document(id=document.id, content=document.content, meta=meta, embedding=list(embedding or [])))
        return {"documents": output}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the configuration (not the loaded model)."""
        return default_to_dict(
            self,
            model=self.model,
            backend=self.backend,
            cache_dir=self.cache_dir,
            batch_size=self.batch_size,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
            local_files_only=self.local_files_only,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LateChunkingDocumentEmbedder:
        """Rebuild from :meth:`to_dict`."""
        return default_from_dict(cls, data)
