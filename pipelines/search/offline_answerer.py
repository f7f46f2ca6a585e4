"""The answer builder that needs no LLM: quote the sentences of the lectures that best answer.

Retrieval finds chunks; a student needs the one or two sentences inside them that answer the
question and the second they are said. We embed every sentence of the retrieved chunks with the
same model as the index, keep the best sentence per video (several videos when they all speak to
the question), quote it with a little context, and cite the moment that sentence starts.
When even the best sentence is far from the question, we say the lectures don't cover it rather
than quote something unrelated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict

from pipelines.domain import Answer, Citation, deep_link, format_timestamp

OFFLINE_ANSWERER = "offline-extractive"
MIN_SENTENCE_WORDS = 4
QUOTE_MAX_WORDS = 60
NEIGHBOUR_MARGIN = 0.12
LEAD_IN_MARGIN = 0.03
QUESTION_PENALTY = 0.1


@dataclass
class _Candidate:
    document: Document
    rank: int
    index: int  # sentence index inside the chunk
    text: str
    score: float = 0.0


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


@component
class OfflineAnswerer:
    """Extractive answers with sentence-level citations; ``embedder`` is any Haystack document embedder."""

    def __init__(
        self,
        embedder: Any,
        min_relevance: float = 0.48,
        max_citations: int = 3,
        margin: float = 0.12,
        store_name: str = "embedded",
    ) -> None:
        self.embedder = embedder
        self.min_relevance = min_relevance
        self.max_citations = max_citations
        self.margin = margin
        self.store_name = store_name

    def warm_up(self) -> None:
        """Load the sentence embedder's model before the first question."""
        if hasattr(self.embedder, "warm_up"):
            self.embedder.warm_up()

    @component.output_types(answer=Answer)
    def run(self, question: str, query_embedding: list[float], documents: list[Document]) -> dict[str, Answer]:
        """Quote the best sentence of up to ``max_citations`` videos, or decline when none reaches ``min_relevance``."""
        candidates = self._candidates(documents)
        if candidates:
            self._score(candidates, query_embedding, len(documents))
        candidates.sort(key=lambda c: c.score, reverse=True)
        best = candidates[0].score if candidates else -1.0
        if best < self.min_relevance:
            return {"answer": self._not_covered(question, candidates)}
        chosen: list[_Candidate] = []
        cited_videos: set[str] = set()
        for candidate in candidates:
            video = str(candidate.document.meta.get("video_id"))
            if video in cited_videos or candidate.score < max(self.min_relevance, best - self.margin):
                continue
            chosen.append(candidate)
            cited_videos.add(video)
            if len(chosen) >= self.max_citations:
                break
        scores = {(c.document.id, c.index): c.score for c in candidates}
        citations = [self._citation(c, scores) for c in chosen]
        lines = [
            f"[{n}] {citation.quote} ({citation.title}, {format_timestamp(citation.start_s)})"
            for n, citation in enumerate(citations, start=1)
        ]
        intro = "Here is what the lectures say:" if len(citations) > 1 else "Here is what the lecture says:"
        text = intro + "\n" + "\n".join(lines)
        return {"answer": Answer(question, text, True, citations, self.store_name, OFFLINE_ANSWERER)}

    def _candidates(self, documents: list[Document]) -> list[_Candidate]:
        candidates = []
        for rank, document in enumerate(documents):
            for index, (text, _, _) in enumerate(chunk_sentences(document)):
                if len(text.split()) >= MIN_SENTENCE_WORDS:
                    candidates.append(_Candidate(document, rank, index, text))
        return candidates

    def _score(self, candidates: list[_Candidate], query_embedding: list[float], ranks: int) -> None:
        embedded = self.embedder.run(documents=[Document(content=c.text) for c in candidates])["documents"]
        matrix = np.asarray([d.embedding for d in embedded], dtype=np.float32)
        matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
        query = np.asarray(query_embedding, dtype=np.float32)
        query /= max(float(np.linalg.norm(query)), 1e-9)
        similarity = matrix @ query
        for candidate, score in zip(candidates, similarity, strict=True):
            # A small prior for chunks retrieval ranked higher (they match as a whole, not just a line).
            candidate.score = float(score) + 0.04 * (1 - candidate.rank / max(ranks, 1))
            # Lecturers ask the question before they answer it; the asking sentence is not the answer.
            if candidate.text.rstrip().endswith("?"):
                candidate.score -= QUESTION_PENALTY

    def _citation(self, candidate: _Candidate, scores: dict[tuple[str, int], float]) -> Citation:
        sentences = chunk_sentences(candidate.document)
        first = last = candidate.index
        words = len(sentences[first][0].split())

        def fits(index: int) -> bool:
            """A neighbour joins the quote when it is on topic too, or when the quote alone is too short."""
            if not 0 <= index < len(sentences) or words + len(sentences[index][0].split()) > QUOTE_MAX_WORDS:
                return False
            neighbour = scores.get((candidate.document.id, index), -1.0)
            if index < candidate.index:  # starting earlier moves the cited second: only for a near-equal lead-in
                return neighbour >= candidate.score - LEAD_IN_MARGIN
            return neighbour >= candidate.score - NEIGHBOUR_MARGIN or words < 10

        for _ in range(2):
            if fits(last + 1):
                last += 1
                words += len(sentences[last][0].split())
            elif fits(first - 1):
                first -= 1
                words += len(sentences[first][0].split())
        quote = " ".join(s[0] for s in sentences[first : last + 1])
        start_s = sentences[first][1]
        end_s = sentences[last][2]
        meta = candidate.document.meta
        return Citation(
            video_id=str(meta.get("video_id")),
            title=str(meta.get("title") or meta.get("video_id")),
            url=deep_link(str(meta.get("url") or ""), start_s),
            start_s=start_s,
            end_s=end_s,
            score=round(candidate.score, 4),
            quote=quote,
        )

    def _not_covered(self, question: str, candidates: list[_Candidate]) -> Answer:
        text = "The lectures don't seem to cover that, so I won't guess."
        if candidates:
            closest = candidates[0]
            meta = closest.document.meta
            when = chunk_sentences(closest.document)[closest.index][1]
            text += (
                f" The closest passage I found is in \u201c{meta.get('title') or meta.get('video_id')}\u201d"
                f" at {format_timestamp(when)}, but it does not answer the question."
            )
        return Answer(question, text, False, [], self.store_name, OFFLINE_ANSWERER)

    def to_dict(self) -> dict[str, Any]:
        """Serialise with the embedder, so a saved pipeline restores the same sentence model."""
        return default_to_dict(
            self,
            embedder=self.embedder.to_dict(),
            min_relevance=self.min_relevance,
            max_citations=self.max_citations,
            margin=self.margin,
            store_name=self.store_name,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OfflineAnswerer:
        """Rebuild from ``to_dict`` output, embedder included."""
        from haystack.core.serialization import component_from_dict
        from haystack.utils import deserialize_type

        params = data["init_parameters"]
        embedder_data = params["embedder"]
        embedder_class = deserialize_type(embedder_data["type"])
        params["embedder"] = component_from_dict(embedder_class, embedder_data, "embedder")
        return default_from_dict(cls, data)
