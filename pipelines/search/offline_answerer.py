"""The answer builder that needs no LLM: quote the lecture moments that best answer, in retrieval's order.

Retrieval (dense + BM25, fused, capped per video) decides *which* lectures answer; this component
decides *where* in each of them, and whether the course covers the question at all.

- **Videos keep retrieval's order.** Re-sorting videos by one sentence's similarity threw away what
  fusion knew (measured on the dev set: the first cited video was right 0.72 of the time against
  0.81 for retrieval's first video); every video retrieval ranked is cited, best first, when one of
  its moments clears the relevance threshold, up to three videos.
- **Moments inside a video** are sentences scored by four signals measured to help on the dev set:
  the sentence's similarity to the question, the similarity of its whole chunk (the mean of the
  chunk's sentence vectors: a passage about the topic beats a lone sentence that repeats the
  question's words), the share of the question's content words the sentence contains, and a small
  prior for chunks retrieval ranked higher. Up to ``chunks_per_video`` chunks per video compete,
  taken from the documents and then the fused candidate list (``passages``), so a long lecture's
  answer is looked for in more than one place. A long lecture may get a second cited moment when
  a different chunk, well apart in time, scores almost as high.
- **Sentence vectors come from the index**: indexing stored each chunk's sentence vectors in its meta
  (:mod:`pipelines.search.sentence_vectors`), so an answer only takes dot products. A chunk without
  them, or with vectors of another model (an index built before, or for another model), has its
  sentences embedded here instead, and the log says so once.
- **"Not covered"** compares the relevance score (the best sentence's similarity plus a share of
  the question's terms found in the retrieved passages) with ``min_relevance``.

The ``candidates`` output lists every moment that could be cited, in citation order with its
score; :func:`pipelines.training.evaluation.metrics.citations_at` applies the same threshold rule
to it, so evaluation and calibration can try every threshold from one run.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict

from pipelines.domain import Answer, Citation, deep_link, format_timestamp
from pipelines.search.sentence_vectors import (
    MIN_SENTENCE_WORDS,
    chunk_sentences,
    embedder_space,
    scored_positions,
    stored_vectors,
    text_vectors,
)

__all__ = [
    "MIN_SENTENCE_WORDS",
    "OFFLINE_ANSWERER",
    "OfflineAnswerer",
    "chunk_sentences",
    "citations_at",
    "cited_positions",
    "content_terms",
]
logger = logging.getLogger(__name__)

OFFLINE_ANSWERER = "offline-extractive"
# Names the relevance score's formula; a saved calibration for another formula is not used.
RELEVANCE_SCORING = "sentence+0.2coverage"
MAX_CITED_VIDEOS = 3
QUOTE_MAX_WORDS = 60
NEIGHBOUR_MARGIN = 0.12
LEAD_IN_MARGIN = 0.03
QUESTION_PENALTY = 0.1
# Weights of the moment score, chosen on the dev set's calibration fold (benchmarks/answer_quality_bench.py).
RANK_WEIGHT = 0.1
CHUNK_WEIGHT = 0.5
LEXICAL_WEIGHT = 0.1
COVERAGE_WEIGHT = 0.2
# A second moment of the same video: another chunk, at least this far away, scoring nearly as high.
SECOND_MOMENT_GAP_S = 30.0
SECOND_MOMENT_MARGIN = 0.05

_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about the topic of a student's question.
_STOP_TEXT = """a an the of to in on for and or is are was were be been being it its this that these those what which who whom how why
    when where do does did i you we they he she my your our their me us them can could should would will shall may might must
    with without from by as at about into over under than then so if not no yes just like also more most some any each every
    other such own same very too there here up down out off again further once all both few many much only really actually
    basically kind sort thing things stuff get got make made use used using one way ok okay please hey hi know mean say said
    guess wondering question understand lecture video course"""
_STOP_WORDS = frozenset(_STOP_TEXT.split())


def cited_positions(candidates: list[tuple[str, float | None, float]], threshold: float, max_videos: int = MAX_CITED_VIDEOS) -> list[int]:
    """Which candidates an answer cites at ``threshold``: those scoring at least it, in order, up to ``max_videos`` videos.

    The answerer builds its citations with exactly this rule, which is what lets evaluation and
    calibration try every threshold from one run.
    """
    kept: list[int] = []
    videos: list[str] = []
    for position, (video, _, score) in enumerate(candidates):
        if score < threshold:
            continue
        if video not in videos:
            if len(videos) >= max_videos:
                continue
            videos.append(video)
        kept.append(position)
    return kept


def citations_at(
    candidates: list[tuple[str, float | None, float]], threshold: float, max_videos: int = MAX_CITED_VIDEOS
) -> list[tuple[str, float | None, float]]:
    """The (video, start_s, score) citations an answer shows at ``threshold`` (see :func:`cited_positions`)."""
    return [candidates[p] for p in cited_positions(candidates, threshold, max_videos)]


def content_terms(text: str) -> set[str]:
    """The topic words of a text: lower-cased, stop words and one-letter words dropped, crudely singularised."""
    words = _WORD.findall(text.lower())
    return {w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words if len(w) > 1 and w not in _STOP_WORDS}


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / max(float(np.linalg.norm(vector)), 1e-9)


@dataclass
class _Moment:
    """One citable sentence: where it is, how it scored."""

    document: Document
    index: int  # sentence index inside the chunk
    similarity: float  # the sentence's similarity to the question, less the penalty for asking sentences
    score: float  # what ranks moments: similarity plus chunk, lexical and rank evidence
    start_s: float | None
    chunk_similarities: dict[int, float]  # every sentence of the same chunk: index -> similarity (for the quote)


@dataclass
class _Video:
    video_id: str
    moments: list[_Moment] = field(default_factory=list)

    @property
    def best(self) -> float:
        return self.moments[0].score if self.moments else -1.0


@component
class OfflineAnswerer:
    """Extractive answers with sentence-level citations; ``embedder`` is any Haystack document embedder."""

    def __init__(
        self,
        embedder: Any,
        min_relevance: float = 0.55,
        max_citations: int = 3,
        chunks_per_video: int = 2,
        store_name: str = "embedded",
        use_stored_vectors: bool = True,
    ) -> None:
        self.embedder = embedder
        # False embeds every sentence per question, as before vectors were stored (the benchmarks' baseline).
        self.use_stored_vectors = use_stored_vectors
        self.min_relevance = min_relevance
        self.max_citations = max_citations
        self.chunks_per_video = chunks_per_video
        self.store_name = store_name
        self._space = embedder_space(embedder)
        self._warned = False
        self.embedded_on_the_fly = 0  # sentences this answerer had to embed itself (chunks indexed without vectors)

    def warm_up(self) -> None:
        """Load the sentence embedder once, before the first question."""
        if hasattr(self.embedder, "warm_up"):
            self.embedder.warm_up()

    @component.output_types(answer=Answer, candidates=list[tuple[str, float | None, float]], relevance=float)
    def run(
        self,
        question: str,
        query_embedding: list[float],
        documents: list[Document],
        passages: list[Document] | None = None,
    ) -> dict[str, Any]:
        """Answer from ``documents`` (retrieval's ranked, per-video-capped chunks), looking for moments in ``passages`` too.

        Returns the ``answer``, its ``relevance`` score and every citable moment as ``candidates``
        (video, start_s, score) in citation order.
        """
        videos, relevance = self._rank(question, np.asarray(query_embedding, dtype=np.float32), documents, passages or [])
        ordered = self._candidate_moments(videos)
        candidates = [(str(m.document.meta.get("video_id")), m.start_s, round(m.score, 4)) for m in ordered]
        if relevance < self.min_relevance or not ordered:
            declined = self.with_query(self._not_covered(question, videos), query_embedding)
            return {"answer": declined, "candidates": candidates, "relevance": relevance}
        citations = [self._citation(ordered[p]) for p in cited_positions(candidates, self.min_relevance, self.max_citations)]
        lines = [
            f"[{n}] {citation.quote} ({citation.title}, {format_timestamp(citation.start_s)})"
            for n, citation in enumerate(citations, start=1)
        ]
        intro = "Here is what the lectures say:" if len({c.video_id for c in citations}) > 1 else "Here is what the lecture says:"
        text = intro + "\n" + "\n".join(lines)
        answer = self.with_query(Answer(question, text, True, citations, self.store_name, OFFLINE_ANSWERER), query_embedding)
        return {"answer": answer, "candidates": candidates, "relevance": relevance}

    def with_query(self, answer: Answer, query_embedding: list[float]) -> Answer:
        """``answer`` carrying the question's vector and its space, so the answer log can keep them (no second embedding)."""
        answer.query_embedding = [float(x) for x in query_embedding]
        answer.embedding_model = self._space
        return answer

    def _rank(self, question: str, query: np.ndarray, documents: list[Document], passages: list[Document]) -> tuple[list[_Video], float]:
        """Score the moments of each retrieved video; videos stay in retrieval order. Also returns the relevance score."""
        order: list[str] = []
        for document in documents:
            video = str(document.meta.get("video_id"))
            if video not in order:
                order.append(video)
        pool = passages or documents
        rank = {d.id: r for r, d in enumerate(pool)}
        chunks: dict[str, list[Document]] = {video: [] for video in order}
        for document in [*documents, *pool]:
            group = chunks.get(str(document.meta.get("video_id")))
            if group is not None and len(group) < self.chunks_per_video and all(d.id != document.id for d in group):
                group.append(document)
        sentences = {d.id: chunk_sentences(d) for group in chunks.values() for d in group}
        vectors = self._sentence_vectors([d for group in chunks.values() for d in group], sentences)
        query = _unit(query)
        asked = content_terms(question)
        videos = []
        best_similarity = -1.0
        for video in order:
            entry = _Video(video)
            for document in chunks[video]:
                own = vectors[document.id]
                items = [(i, text, start) for i, (text, start, _) in enumerate(sentences[document.id]) if i in own]
                if not items:
                    continue
                chunk_similarity = float(_unit(np.sum([own[i] for i, _, _ in items], axis=0)) @ query)
                prior = RANK_WEIGHT * (1 - rank.get(document.id, len(pool)) / max(len(pool), 1))
                similarities: dict[int, float] = {}
                for index, text, start in items:
                    similarity = float(own[index] @ query) - (QUESTION_PENALTY if text.rstrip().endswith("?") else 0.0)
                    similarities[index] = similarity
                    lexical = len(asked & content_terms(text)) / len(asked) if asked else 0.0
                    score = similarity + prior + CHUNK_WEIGHT * chunk_similarity + LEXICAL_WEIGHT * lexical
                    entry.moments.append(_Moment(document, index, similarity, score, start, similarities))
                    best_similarity = max(best_similarity, similarity)
            entry.moments.sort(key=lambda m: m.score, reverse=True)
            videos.append(entry)
        found = set().union(*(content_terms(d.content or "") for d in documents)) if documents else set()
        coverage = len(asked & found) / len(asked) if asked else 0.0
        return videos, best_similarity + COVERAGE_WEIGHT * coverage if best_similarity > -1.0 else -1.0

    def _sentence_vectors(
        self, documents: list[Document], sentences: dict[str, list[tuple[str, float | None, float | None]]]
    ) -> dict[str, dict[int, np.ndarray]]:
        """Each chunk's sentence position -> unit vector: stored ones where the index has them, else embedded now."""
        vectors: dict[str, dict[int, np.ndarray]] = {}
        missing: list[Document] = []
        for document in documents:
            stored = stored_vectors(document, self._space) if self.use_stored_vectors else None
            if stored is None:
                missing.append(document)
            else:
                vectors[document.id] = stored
        if missing:
            if not self._warned and self.use_stored_vectors:
                self._warned = True
                logger.warning(
                    "the index has no sentence vectors for %s in this model's space (indexed before they were stored, or with "
                    "another model): embedding them per question, which is slower; re-run ingest to store them",
                    missing[0].meta.get("video_id"),
                )
            wanted = {d.id: scored_positions(sentences[d.id]) for d in missing}
            texts = sorted({sentences[d.id][p][0] for d in missing for p in wanted[d.id]})
            self.embedded_on_the_fly += len(texts)
            matrix = text_vectors(self.embedder, texts, self._space, memo=False) if texts else np.zeros((0, 0), dtype=np.float32)
            row = {text: matrix[i] for i, text in enumerate(texts)}
            for document in missing:
                vectors[document.id] = {p: row[sentences[document.id][p][0]] for p in wanted[document.id]}
        return vectors

    def _candidate_moments(self, videos: list[_Video]) -> list[_Moment]:
        """Each video's best moment in retrieval order, followed by its second moment where a long lecture has one."""
        ordered: list[_Moment] = []
        for video in videos:
            if not video.moments:
                continue
            best = video.moments[0]
            ordered.append(best)
            for other in video.moments[1:]:
                if other.score < best.score - SECOND_MOMENT_MARGIN:
                    break
                apart = best.start_s is not None and other.start_s is not None and abs(other.start_s - best.start_s) > SECOND_MOMENT_GAP_S
                if other.document.id != best.document.id and apart:
                    ordered.append(other)
                    break
        return ordered

    def _citation(self, moment: _Moment) -> Citation:
        sentences = chunk_sentences(moment.document)
        scores = moment.chunk_similarities
        first = last = moment.index
        words = len(sentences[first][0].split())

        def fits(index: int) -> bool:
            """A neighbour joins the quote when it is on topic too, or when the quote alone is too short."""
            if not 0 <= index < len(sentences) or words + len(sentences[index][0].split()) > QUOTE_MAX_WORDS:
                return False
            neighbour = scores.get(index, -1.0)
            if index < moment.index:  # starting earlier moves the cited second: only for a near-equal lead-in
                return neighbour >= moment.similarity - LEAD_IN_MARGIN
            return neighbour >= moment.similarity - NEIGHBOUR_MARGIN or words < 10

        for _ in range(2):
            if fits(last + 1):
                last += 1
                words += len(sentences[last][0].split())
            elif fits(first - 1):
                first -= 1
                words += len(sentences[first][0].split())
        meta = moment.document.meta
        start_s = sentences[first][1]
        return Citation(
            video_id=str(meta.get("video_id")),
            title=str(meta.get("title") or meta.get("video_id")),
            url=deep_link(str(meta.get("url") or ""), start_s),
            start_s=start_s,
            end_s=sentences[last][2],
            score=round(moment.score, 4),
            quote=" ".join(s[0] for s in sentences[first : last + 1]),
        )

    def _not_covered(self, question: str, videos: list[_Video]) -> Answer:
        text = "The lectures don't seem to cover that, so I won't guess."
        closest = max((v.moments[0] for v in videos if v.moments), key=lambda m: m.similarity, default=None)
        if closest is not None:
            meta = closest.document.meta
            text += (
                f" The closest passage I found is in \u201c{meta.get('title') or meta.get('video_id')}\u201d"
                f" at {format_timestamp(closest.start_s)}, but it does not answer the question."
            )
        return Answer(question, text, False, [], self.store_name, OFFLINE_ANSWERER)

    def to_dict(self) -> dict[str, Any]:
        """Serialise with the embedder, as Haystack pipelines expect."""
        return default_to_dict(
            self,
            embedder=self.embedder.to_dict(),
            min_relevance=self.min_relevance,
            max_citations=self.max_citations,
            chunks_per_video=self.chunks_per_video,
            store_name=self.store_name,
            use_stored_vectors=self.use_stored_vectors,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OfflineAnswerer:
        """Rebuild from :meth:`to_dict`, embedder included."""
        from haystack.core.serialization import component_from_dict
        from haystack.utils import deserialize_type

        params = data["init_parameters"]
        embedder_data = params["embedder"]
        embedder_class = deserialize_type(embedder_data["type"])
        params["embedder"] = component_from_dict(embedder_class, embedder_data, "embedder")
        return default_from_dict(cls, data)
