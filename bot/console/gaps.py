"""Coverage gaps: the declined and down-voted questions, grouped by meaning, each group pointing at its nearest lecture moment.

Questions are represented by the vectors the query pipeline computed when they were answered (the
answer log keeps them, float16, with the id of their vector space); only questions without one, or
with one from another model, are embedded here, in batches, with the project's embedding model (the
same one the index uses, through ``pipelines/search/embedders.py``). They are grouped with scikit-learn. Up to :data:`DIRECT_LIMIT`
distinct questions are clustered directly (average-linkage agglomerative clustering on cosine
distance, cut at :data:`DISTANCE_THRESHOLD`, so the number of groups follows the data); beyond that,
k-means first folds them into :data:`MICRO_CLUSTERS` small groups whose centres are then clustered
the same way, which keeps memory and time linear in the number of questions.

A group's label is its most central question (nearest its centre); its examples are the next most
central ones; its lecture moment is the indexed chunk nearest the centre, narrowed to the sentence
nearest the centre, with the deep link to that second.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.answering.feedback import unpack_vector
from bot.console.data import GapQuestion
from pipelines.domain import deep_link
from pipelines.settings import Settings

DISTANCE_THRESHOLD = 0.75
DIRECT_LIMIT = 1500
MICRO_CLUSTERS = 300
EXAMPLES = 5
EMBED_BATCH = 256  # texts per call of the embedder: bounded memory, and the lock is released between batches

Embed = Callable[[Sequence[str]], np.ndarray]


@dataclass
class LectureMoment:
    """The indexed moment nearest a group of questions: video, the second, the sentence and its link."""

    video_id: str
    title: str
    start_s: float | None
    url: str
    text: str
    similarity: float


@dataclass
class GapCluster:
    """One group of related gap questions."""

    number: int
    label: str
    count: int
    not_covered: int
    thumbs_down: int
    examples: list[str]
    questions: list[tuple[str, int]]  # every distinct question with how often it was asked, most central first
    moment: LectureMoment | None = None
    centre: list[float] = field(default_factory=list, repr=False)


def normalise(text: str) -> str:
    """Case and spacing folded, so the same question typed twice counts as one."""
    return " ".join(text.lower().split())


def cluster_vectors(
    vectors: np.ndarray, weights: np.ndarray | None = None, threshold: float = DISTANCE_THRESHOLD, seed: int = 0
) -> np.ndarray:
    """A cluster number for every (L2-normalised) row; the number of clusters follows ``threshold`` (cosine distance)."""
    from sklearn.cluster import AgglomerativeClustering, KMeans

    count = len(vectors)
    if count == 0:
        return np.zeros(0, dtype=int)
    if count == 1:
        return np.zeros(1, dtype=int)
    if count <= DIRECT_LIMIT:
        model = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold)
        return np.asarray(model.fit_predict(vectors), dtype=int)
    # Plain k-means from random seeds, few iterations: the micro-clusters only need to be tight, not
    # optimal (they are merged next). Measured on 10,000 x 384: 0.5 s, against 40-110 s for
    # MiniBatchKMeans with k-means++ seeding on the same 2 busy cores.
    micro = KMeans(n_clusters=MICRO_CLUSTERS, init="random", n_init=1, max_iter=30, random_state=seed)
    micro_labels = micro.fit_predict(vectors, sample_weight=weights)
    centres = micro.cluster_centers_
    centres = centres / np.maximum(np.linalg.norm(centres, axis=1, keepdims=True), 1e-12)
    used = np.unique(micro_labels)
    merged = AgglomerativeClustering(n_clusters=None, metric="cosine", linkage="average", distance_threshold=threshold).fit_predict(
        centres[used]
    )
    mapping = np.zeros(MICRO_CLUSTERS, dtype=int)
    mapping[used] = merged
    return mapping[micro_labels]


def project_embedder(settings: Settings) -> Embed:
    """Embeds texts with the project's embedding model (normalised, as the index is); loads it on first call."""
    from haystack import Document

    from pipelines.search.embedders import document_embedder

    embedder = document_embedder(settings, with_title=False)
    lock = threading.Lock()
    state = {"warm": False}

    def embed(texts: Sequence[str]) -> np.ndarray:
        with lock:
            if not state["warm"]:
                embedder.warm_up()
                state["warm"] = True
            documents = embedder.run(documents=[Document(content=text) for text in texts])["documents"]
        return np.asarray([document.embedding for document in documents], dtype=np.float32)

    return embed


class GapFinder:
    """Clusters gap questions; uses the vectors the answer log kept and remembers the ones it made, so a re-run embeds only new questions.

    ``space`` is the vector space ``embed`` produces (:func:`pipelines.search.embedders.embedding_space`):
    a stored vector is used only when it was made in that space; empty uses none. :attr:`embedded`
    counts the texts this finder had to embed itself.
    """

    def __init__(self, embed: Embed, nearest_moment: Callable[[np.ndarray], LectureMoment | None] | None = None, space: str = "") -> None:
        self.embed = embed
        self.nearest_moment = nearest_moment
        self.space = space
        self.embedded = 0
        self._vectors: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _vectors_for(self, texts: list[str], stored: list[bytes | None]) -> np.ndarray:
        keys = [hashlib.sha256(text.encode("utf-8")).hexdigest() for text in texts]
        with self._lock:
            missing = [
                (key, text) for key, text, blob in zip(keys, texts, stored, strict=True) if blob is None and key not in self._vectors
            ]
        for start in range(0, len(missing), EMBED_BATCH):
            batch = missing[start : start + EMBED_BATCH]
            fresh = self.embed([text for _, text in batch])
            with self._lock:
                self.embedded += len(batch)
                for (key, _), vector in zip(batch, fresh, strict=True):
                    self._vectors[key] = vector
        if not keys:
            return np.zeros((0, 0), dtype=np.float32)
        with self._lock:
            rows = [unpack_vector(blob) if blob is not None else self._vectors[key] for key, blob in zip(keys, stored, strict=True)]
        matrix = np.stack(rows).astype(np.float32)
        # float16 storage rounds the norm; cosine clustering and centres want unit rows.
        return matrix / np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-12)

    def _stored(self, asked: list[GapQuestion]) -> bytes | None:
        """A vector the log kept for this question (any of its askings) in this finder's space, or None."""
        if not self.space:
            return None
        return next((q.embedding for q in asked if q.embedding and q.embedding_model == self.space), None)

    def clusters(self, questions: Sequence[GapQuestion], limit: int = 50) -> list[GapCluster]:
        """The groups, largest first (ties: most not-covered first); the first ``limit`` get a lecture moment."""
        if not questions:
            return []
        by_text: dict[str, list[GapQuestion]] = {}
        for question in questions:
            by_text.setdefault(normalise(question.question), []).append(question)
        keys = list(by_text)
        shown = [by_text[key][0].question for key in keys]
        weights = np.asarray([len(by_text[key]) for key in keys], dtype=float)
        vectors = self._vectors_for(keys, [self._stored(by_text[key]) for key in keys])
        labels = cluster_vectors(vectors, weights)
        groups: dict[int, list[int]] = {}
        for index, label in enumerate(labels):
            groups.setdefault(int(label), []).append(index)
        clusters: list[GapCluster] = []
        for members in groups.values():
            member_vectors = vectors[members]
            member_weights = weights[members]
            centre = (member_vectors * member_weights[:, None]).sum(axis=0)
            centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
            order = np.argsort(-(member_vectors @ centre), kind="stable")
            ranked = [members[i] for i in order]
            asked = [q for index in ranked for q in by_text[keys[index]]]
            clusters.append(
                GapCluster(
                    number=0,
                    label=shown[ranked[0]],
                    count=len(asked),
                    not_covered=sum(q.not_covered for q in asked),
                    thumbs_down=sum(q.thumbs_down for q in asked),
                    examples=[shown[index] for index in ranked[1 : 1 + EXAMPLES]],
                    questions=[(shown[index], len(by_text[keys[index]])) for index in ranked],
                    centre=centre.tolist(),
                )
            )
        clusters.sort(key=lambda c: (-c.count, -c.not_covered, normalise(c.label)))
        for number, cluster in enumerate(clusters, start=1):
            cluster.number = number
            if number <= limit and self.nearest_moment is not None:
                cluster.moment = self.nearest_moment(np.asarray(cluster.centre, dtype=np.float32))
        return clusters


def index_moment_finder(settings: Settings, embed: Embed) -> Callable[[np.ndarray], LectureMoment | None]:
    """Queries the course index (its embedding retriever, chunks only) for the moment nearest a vector."""
    from pipelines.search.query import CHUNKS_ONLY
    from pipelines.search.video_catalog import timed_sentences
    from pipelines.stores.document_store import open_store

    state: dict[str, Any] = {}
    lock = threading.Lock()

    def nearest(centre: np.ndarray) -> LectureMoment | None:
        with lock:
            if "retriever" not in state:
                bundle = open_store(settings)
                state["retriever"] = bundle.embedding_retriever(top_k=1, filters=CHUNKS_ONLY)
        try:
            documents = state["retriever"].run(query_embedding=[float(x) for x in centre])["documents"]
        except Exception:  # an empty or unreachable index: the group is still worth showing
            return None
        if not documents:
            return None
        chunk = documents[0]
        meta = chunk.meta or {}
        sentences = timed_sentences(chunk) or [(chunk.content or "", meta.get("start_s"))]
        scores = embed([text for text, _ in sentences]) @ centre
        best = int(np.argmax(scores))
        text, start = sentences[best]
        url = str(meta.get("url") or "")
        return LectureMoment(
            video_id=str(meta.get("video_id") or ""),
            title=str(meta.get("title") or meta.get("video_id") or ""),
            start_s=start,
            url=deep_link(url, start) if url else "",
            text=text,
            similarity=float(scores[best]),
        )

    return nearest


def gap_counts(questions: Sequence[GapQuestion]) -> Counter[str]:
    """How many gap questions were declined, voted down, or both."""
    counts: Counter[str] = Counter()
    for question in questions:
        counts["not_covered"] += question.not_covered
        counts["thumbs_down"] += question.thumbs_down
    return counts
