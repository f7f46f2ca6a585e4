"""The held-out split is by video: every lecture a dev question points at is never trained on.

Splitting by triplet would leak: a held-out question's lecture would still be seen through its
other chunks. So the held-out set is the videos of the dev question file, and mining skips them
entirely (not as anchors, not as positives, not as negatives).
"""

from __future__ import annotations

from pathlib import Path

from pipelines.evaluation.questions import read_questions


def held_out_videos(question_file: Path | None) -> set[str]:
    """The video ids of the answerable questions in ``question_file`` (empty when none is given)."""
    if question_file is None:
        return set()
    return {q.video_id for q in read_questions(question_file) if q.video_id}


def stored_chunks(bundle: object) -> list:
    """Every indexed document with its vector: the embedded store keeps them in memory, others return them."""
    store = getattr(bundle, "store", bundle)
    storage = getattr(store, "storage", None)
    if isinstance(storage, dict):
        return list(storage.values())
    return list(store.filter_documents())  # type: ignore[attr-defined]


TWIN_SIMILARITY = 0.95  # cosine at which two chunks say the same thing
TWIN_SHARE = 0.5  # a video with at least this share of such chunks is a copy of a held-out lecture


def with_twins(held_out: set[str], documents: list, embed) -> set[str]:
    """``held_out`` plus every video that is a near-copy of a held-out one.

    Courses re-record lessons (the Hugging Face course has word-for-word PyTorch/TensorFlow twins);
    training on the twin of a dev lecture would leak its content into the "held-out" evaluation.
    ``embed`` is used only for chunks the store returns without vectors.
    """
    import numpy as np

    chunks = [d for d in documents if d.meta.get("kind", "chunk") == "chunk" and d.content]
    if not held_out or not chunks:
        return set(held_out)
    vectors = [d.embedding for d in chunks]
    if any(v is None for v in vectors):
        from pipelines.triplets.mining import passage_text

        vectors = list(embed([passage_text(d) for d in chunks]))
    matrix = np.asarray(vectors, dtype=np.float32)
    matrix /= np.maximum(np.linalg.norm(matrix, axis=1, keepdims=True), 1e-9)
    videos = np.asarray([str(d.meta["video_id"]) for d in chunks])
    inside = np.isin(videos, sorted(held_out))
    if not inside.any() or inside.all():
        return set(held_out)
    copied = (matrix[~inside] @ matrix[inside].T).max(axis=1) >= TWIN_SIMILARITY
    twins = {str(video) for video in np.unique(videos[~inside]) if copied[videos[~inside] == video].mean() >= TWIN_SHARE}
    return set(held_out) | twins
