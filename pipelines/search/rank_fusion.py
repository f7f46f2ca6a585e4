"""Reciprocal rank fusion of the dense and BM25 lists, with each weight tied to its retriever by name.

Haystack's ``DocumentJoiner`` takes its lists through one variadic input whose order follows the
order the senders ran in, not the order of its ``weights``; in a pipeline, BM25 could get the
dense retriever's weight without any error. (It did: hit@1 fell from 0.88 to 0.69 on the 241-video
corpus.) This component names both inputs and hands them to the joiner in a fixed order, so the
fusion itself is still Haystack's.
"""

from __future__ import annotations

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.components.joiners import DocumentJoiner


@component
class WeightedRankFusion:
    """Reciprocal rank fusion whose weights stay with the dense and BM25 lists whatever order they arrive in."""

    def __init__(self, dense_weight: float = 0.9, bm25_weight: float = 0.1) -> None:
        if dense_weight < 0 or bm25_weight < 0 or dense_weight + bm25_weight <= 0:
            raise ValueError("fusion weights must be non-negative and not both zero")
        self.dense_weight = dense_weight
        self.bm25_weight = bm25_weight
        self._joiner = DocumentJoiner(join_mode="reciprocal_rank_fusion", weights=[dense_weight, bm25_weight])

    @component.output_types(documents=list[Document])
    def run(self, dense_documents: list[Document], bm25_documents: list[Document]) -> dict[str, list[Document]]:
        """One fused list, dense weighted by ``dense_weight`` and BM25 by ``bm25_weight``."""
        return self._joiner.run(documents=[dense_documents, bm25_documents])

    def to_dict(self) -> dict[str, Any]:
        """Serialise the two weights."""
        return default_to_dict(self, dense_weight=self.dense_weight, bm25_weight=self.bm25_weight)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WeightedRankFusion:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
