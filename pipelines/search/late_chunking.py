"""Late chunking: a chunk's sentence vectors pooled from the chunk's own forward pass, so indexing runs the model once.

The chunk is encoded once, as the document embedder always encoded it (title in front, same
tokenizer, same truncation); the model's own pooling of all its tokens is the chunk vector,
unchanged, and the mean of each sentence's token span (character spans mapped to tokens through
the tokenizer's offset mapping), normalised, is that sentence's vector. Those sentence vectors
differ from embedding each sentence alone: every token has seen the whole chunk.

Two cases cannot be pooled and are embedded on their own instead: a sentence that the model's
``max_seq_length`` truncated (wholly or partly), and every sentence of an input whose tokens could
not be matched to the model's (a tokenizer that disagrees with the encoder's preprocessing). Chunks
are cut at sentence boundaries, so no sentence spans two chunks. Only mean-pooling models are
late-chunked: a CLS- or max-pooled model's token states are not meant to be averaged, so such a
model keeps embedding sentences separately.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

SEPARATE, LATE = "separate", "late"
METHODS = (SEPARATE, LATE)


@dataclass
class TokenPass:
    """One input's forward pass: the model's vector of the whole input, and its tokens with their character spans.

    ``tokens`` and ``offsets`` are None when the tokens could not be matched to the input's characters.
    """

    vector: np.ndarray
    tokens: np.ndarray | None
    offsets: np.ndarray | None


def _unit(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.maximum(np.linalg.norm(matrix, axis=-1, keepdims=True), 1e-12)


def pool_spans(token_pass: TokenPass, spans: list[tuple[int, int]]) -> list[np.ndarray | None]:
    """A unit vector per character span ``[begin, end)``: the mean of the tokens inside it; None where it cannot be pooled.

    A span cannot be pooled when its end lies past the last token the model saw (truncated) or no
    token falls inside it.
    """
    if token_pass.tokens is None or token_pass.offsets is None:
        return [None] * len(spans)
    starts, ends = token_pass.offsets[:, 0], token_pass.offsets[:, 1]
    real = ends > starts  # special tokens ([CLS], [SEP]) have empty spans
    seen_to = int(ends[real].max()) if real.any() else 0
    pooled: list[np.ndarray | None] = []
    for begin, end in spans:
        inside = real & (starts >= begin) & (ends <= end)
        if end > seen_to or not inside.any():
            pooled.append(None)
        else:
            pooled.append(_unit(token_pass.tokens[inside].mean(axis=0)))
    return pooled


def torch_mean_pooled(model: Any) -> bool:
    """Whether a SentenceTransformer pools its output by the mean of the tokens (the only pooling late chunking matches)."""
    modes = [getattr(module, "pooling_mode", None) for module in model if type(module).__name__ == "Pooling"]
    return modes == ["mean"]


def torch_passes(model: Any, texts: list[str], batch_size: int) -> list[TokenPass]:
    """Forward passes of ``texts`` through a SentenceTransformer: its sentence embedding and its token embeddings.

    The model's own ``encode`` tokenizes and runs (so the vector is exactly what the document
    embedder produces); the tokenizer is called again on each text only for the offset mapping,
    and the two token sequences must agree for the offsets to be used.
    """
    if not texts:
        return []
    outputs = model.encode(texts, output_value=None, batch_size=batch_size, convert_to_numpy=False, show_progress_bar=False)
    tokenized = model.tokenizer(texts, return_offsets_mapping=True, truncation=True, max_length=model.max_seq_length)
    passes = []
    for position, output in enumerate(outputs):
        mask = output["attention_mask"].bool()
        vector = _unit(output["sentence_embedding"].float().cpu().numpy())
        ids = output["input_ids"][mask].tolist()
        if ids != list(tokenized["input_ids"][position]):
            passes.append(TokenPass(vector, None, None))
            continue
        tokens = output["token_embeddings"][mask].float().cpu().numpy()
        passes.append(TokenPass(vector, tokens, np.asarray(tokenized["offset_mapping"][position], dtype=np.int64).reshape(-1, 2)))
    return passes
