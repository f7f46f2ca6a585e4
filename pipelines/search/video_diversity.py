"""A ranker that keeps one long lecture from filling every slot of the answer.

A two-hour lecture has ~150 chunks and a four-minute one has three; after rank fusion the long
one can take the whole top-k with near-duplicate passages. Capping chunks per video keeps the
other videos that speak to the question in view, which is what makes multi-video answers possible.
"""

from __future__ import annotations

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict


@component
class VideoDiversityRanker:
    """Keeps the ranking order but at most ``max_per_video`` chunks of any one video, up to ``top_k``."""

    def __init__(self, top_k: int = 5, max_per_video: int = 2) -> None:
        if top_k < 1 or max_per_video < 1:
            raise ValueError("top_k and max_per_video must be at least 1")
        self.top_k = top_k
        self.max_per_video = max_per_video

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document], top_k: int | None = None) -> dict[str, list[Document]]:
        """The first ``top_k`` documents (this call's, else the configured one) that keep every video within its cap."""
        limit = top_k or self.top_k
        kept: list[Document] = []
        per_video: dict[str, int] = {}
        for document in documents:
            video = str(document.meta.get("video_id"))
            if per_video.get(video, 0) >= self.max_per_video:
                continue
            per_video[video] = per_video.get(video, 0) + 1
            kept.append(document)
            if len(kept) >= limit:
                break
        return {"documents": kept}

    def to_dict(self) -> dict[str, Any]:
        """Serialise both limits."""
        return default_to_dict(self, top_k=self.top_k, max_per_video=self.max_per_video)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoDiversityRanker:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
