"""Sentence vectors computed once at index time and stored with their chunk, so answering embeds only the question.

The offline answerer scores every sentence of the retrieved chunks against the question; embedding
those sentences per question was most of an answer's time. Indexing now embeds each chunk's
sentences with the same model as the chunk and stores them in the chunk's meta under
``sentence_vectors``: float16 rows, base64-encoded, with the vector space they belong to (model and
backend, see :func:`pipelines.search.onnx_backend.vector_space`) and which sentences they are (positions
in :func:`chunk_sentences`, the one split both indexing and answering use). Elasticsearch maps the
field as not indexed; the embedded store keeps it in its JSON meta.

Extractive summaries embed the same sentences of the same video just before indexing does, so vectors
go through a small per-process memo keyed by (space, text): each sentence is embedded once per ingest.

How the vectors were made is recorded as ``method``: ``separate`` (each sentence embedded alone; a
field without ``method`` was made so) or ``late`` (pooled out of the chunk's own forward pass, see
:mod:`pipelines.search.late_chunking`; ``COURSE_TA_SENTENCE_VECTORS``). Both are in the model's space
and score against the question the same way, so the answerer uses either; :func:`stored_method`
tells which an index holds.
"""

from __future__ import annotations

import base64
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
from haystack import Document

from pipelines.search.late_chunking import LATE, SEPARATE, TokenPass, pool_spans

FIELD = "sentence_vectors"
FORMAT = "f16b64/1"
# The answerer ignores shorter sentences; they are not embedded or stored.
MIN_SENTENCE_WORDS = 4
MEMO_SIZE = 20_000

_memo: OrderedDict[tuple[str, str], np.ndarray] = OrderedDict()
_memo_lock = threading.Lock()


def chunk_sentences(document: Document) -> list[tuple[str, float | None, float | None]]:
    """The sentences of a chunk with their start/end, from the offsets chunking stored in meta."""
    text = document.content or ""
    offsets = list(document.meta.get("sentence_offsets") or [0])
    starts = list(document.meta.get("sentence_starts") or [document.meta.get("start_s")])
    ends = list(document.meta.get("sentence_ends") or [document.meta.get("end_s")])
    bounds = [*offsets[1:], len(text) + 1]
    sentences = []
    for i, (begin, end) in enumerate(zip(offsets, bounds, strict=True)):
        piece = text[begin : end - 1].strip()
        if piece:
            start_s = starts[i] if i < len(starts) else None
            end_s = ends[i] if i < len(ends) else None
            sentences.append((piece, start_s, end_s))
    return sentences


def sentence_spans(document: Document) -> list[tuple[int, int]]:
    """The character span ``[begin, end)`` in the content of each sentence :func:`chunk_sentences` returns, same order."""
    text = document.content or ""
    offsets = list(document.meta.get("sentence_offsets") or [0])
    bounds = [*offsets[1:], len(text) + 1]
    spans = []
    for begin, end in zip(offsets, bounds, strict=True):
        raw = text[begin : end - 1]
        piece = raw.strip()
        if piece:
            first = begin + len(raw) - len(raw.lstrip())
            spans.append((first, first + len(piece)))
    return spans


def scored_positions(sentences: list[tuple[str, float | None, float | None]]) -> list[int]:
    """Positions of the sentences long enough to be scored (and so embedded)."""
    return [i for i, (text, _, _) in enumerate(sentences) if len(text.split()) >= MIN_SENTENCE_WORDS]


def embedder_space(embedder: Any) -> str:
    """The vector space of a document embedder (its model, and the int8 variant when quantized)."""
    from pipelines.search.onnx_backend import vector_space

    return vector_space(str(getattr(embedder, "model", "")), str(getattr(embedder, "backend", "torch")))


def _embed(embedder: Any, texts: list[str]) -> np.ndarray:
    """Normalised float32 rows for plain texts: the ONNX embedders encode directly, others go through ``run``."""
    if hasattr(embedder, "encode"):
        matrix = np.asarray(embedder.encode(texts), dtype=np.float32)
    else:
        embedded = embedder.run(documents=[Document(content=t) for t in texts])["documents"]
        matrix = np.asarray([d.embedding for d in embedded], dtype=np.float32)
    return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)


def text_vectors(embedder: Any, texts: list[str], space: str | None = None, *, memo: bool = True) -> np.ndarray:
    """Normalised vectors of ``texts`` (one row each), embedding only those not in the memo, each distinct text once.

    ``memo=False`` neither reads nor fills the memo (answering: questions must not grow it).
    """
    if not memo:
        return _embed(embedder, texts) if texts else np.zeros((0, 0), dtype=np.float32)
    space = space or embedder_space(embedder)
    found: dict[str, np.ndarray] = {}
    with _memo_lock:
        for text in texts:
            vector = _memo.get((space, text))
            if vector is not None:
                found[text] = vector
                _memo.move_to_end((space, text))
    missing = list(dict.fromkeys(t for t in texts if t not in found))
    if missing:
        fresh = _embed(embedder, missing)
        with _memo_lock:
            for text, vector in zip(missing, fresh, strict=True):
                found[text] = vector
                _memo[(space, text)] = vector
            while len(_memo) > MEMO_SIZE:
                _memo.popitem(last=False)
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    return np.stack([found[t] for t in texts])


def encode_field(space: str, positions: list[int], matrix: np.ndarray, method: str = SEPARATE) -> dict[str, Any]:
    """The meta value stored on a chunk: float16 rows in base64, their sentence positions, vector space and method."""
    rows = np.ascontiguousarray(matrix, dtype="<f2")
    return {
        "format": FORMAT,
        "model": space,
        "method": method,
        "positions": list(positions),
        "dim": int(rows.shape[1]) if rows.ndim == 2 and len(positions) else 0,
        "data": base64.b64encode(rows.tobytes()).decode("ascii"),
    }


def attach(documents: list[Document], embedder: Any, space: str | None = None) -> list[Document]:
    """Give each ``kind=chunk`` document its sentence vectors (in place; returned for chaining). Others are untouched."""
    space = space or embedder_space(embedder)
    late = getattr(embedder, "sentence_method", SEPARATE) == LATE
    plans = []
    texts: list[str] = []
    for document in documents:
        if document.meta.get("kind") != "chunk":
            continue
        if late and stored_vectors(document, space) is not None:
            continue  # the late-chunking embedder stored them during the chunk's own pass
        sentences = chunk_sentences(document)
        positions = scored_positions(sentences)
        plans.append((document, positions, len(texts)))
        texts.extend(sentences[p][0] for p in positions)
    matrix = text_vectors(embedder, texts, space) if texts else np.zeros((0, 0), dtype=np.float32)
    for document, positions, begin in plans:
        document.meta[FIELD] = encode_field(space, positions, matrix[begin : begin + len(positions)])
    return documents


def attach_late(documents: list[Document], passes: list[TokenPass], content_starts: list[int], embedder: Any, space: str) -> list[Document]:
    """Give each ``kind=chunk`` document sentence vectors pooled from its forward pass (in place; returned for chaining).

    ``content_starts[i]`` is where the chunk's content begins in the text that was encoded (after
    the title). Sentences the pass cannot give (truncated, unmatched tokens) are embedded on their
    own, all in one batch.
    """
    plans = []
    missing: list[str] = []
    for document, token_pass, shift in zip(documents, passes, content_starts, strict=True):
        if document.meta.get("kind") != "chunk":
            continue
        positions = scored_positions(chunk_sentences(document))
        spans = sentence_spans(document)
        pooled = pool_spans(token_pass, [(spans[p][0] + shift, spans[p][1] + shift) for p in positions])
        texts = [(document.content or "")[spans[p][0] : spans[p][1]] for p, row in zip(positions, pooled, strict=True) if row is None]
        missing.extend(texts)
        plans.append((document, positions, pooled))
    fresh = text_vectors(embedder, missing, space) if missing else np.zeros((0, 0), dtype=np.float32)
    taken = 0
    for document, positions, pooled in plans:
        rows = []
        for row in pooled:
            if row is None:
                row = fresh[taken]
                taken += 1
            rows.append(row)
        matrix = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        document.meta[FIELD] = encode_field(space, positions, matrix, LATE)
    return documents


def stored_method(document: Document) -> str | None:
    """How a chunk's stored sentence vectors were made (``separate`` or ``late``); None when it has none."""
    field = document.meta.get(FIELD)
    if not isinstance(field, dict):
        return None
    return str(field.get("method") or SEPARATE)


def stored_vectors(document: Document, space: str) -> dict[int, np.ndarray] | None:
    """Sentence position -> float32 unit vector from the chunk's meta; None when absent, malformed or from another space."""
    field = document.meta.get(FIELD)
    if not isinstance(field, dict) or field.get("format") != FORMAT or field.get("model") != space:
        return None
    try:
        positions = [int(p) for p in field["positions"]]
        raw = base64.b64decode(field["data"], validate=True)
        if not positions:
            return {} if not raw else None
        matrix = np.frombuffer(raw, dtype="<f2").reshape(len(positions), int(field["dim"])).astype(np.float32)
    except (KeyError, TypeError, ValueError):
        return None
    if positions != scored_positions(chunk_sentences(document)):
        return None  # the split changed since these were stored: they would belong to other sentences
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    return dict(zip(positions, matrix, strict=True))


def vectors_from_passes(embedder: Any, chunks: list[Document], texts: list[str], fallback: Callable[[], Any]) -> np.ndarray:
    """Unit vectors of ``texts`` (sentences of these chunks) pooled from the chunks' own forward passes.

    ``embedder`` is the late-chunking indexing embedder: running it here leaves the passes in its
    memo, so indexing the same chunks next encodes nothing again. A text no chunk gives a vector
    for (too short to be scored, truncated away, or a model that does not late-chunk) is embedded
    alone by ``fallback()``, through the memo like any other sentence.
    """
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    space = embedder_space(embedder)
    found: dict[str, np.ndarray] = {}
    for document in embedder.run(documents=chunks)["documents"]:
        stored = stored_vectors(document, space)
        if stored:
            split = chunk_sentences(document)
            for position, vector in stored.items():
                found.setdefault(split[position][0].strip(), vector)
    missing = list(dict.fromkeys(t.strip() for t in texts if t.strip() not in found))
    if missing:
        found.update(zip(missing, text_vectors(fallback(), missing), strict=True))
    return np.stack([found[t.strip()] for t in texts])
