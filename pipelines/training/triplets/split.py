"""The held-out split is by video: every lecture a dev question points at is never trained on.

Splitting by triplet would leak: a held-out question's lecture would still be seen through its
other chunks. So the held-out set is the videos of the dev question file, and mining skips them
entirely (not as anchors, not as positives, not as negatives).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipelines.training.evaluation.questions import read_questions


def held_out_videos(question_file: Path | None) -> set[str]:
    """The video ids of the answerable questions in ``question_file`` (empty when none is given)."""
    if question_file is None:
        return set()
    return {q.video_id for q in read_questions(question_file) if q.video_id}


def stored_chunks(bundle: Any) -> list:
    """Every indexed document with its vector: the embedded store keeps them in memory, others return them."""
    store = getattr(bundle, "store", bundle)
    storage = getattr(store, "storage", None)
    if isinstance(storage, dict):
        return list(storage.values())
    return list(store.filter_documents())


TWIN_SIMILARITY = 0.95  # cosine at which two chunks say the same thing
TWIN_SHARE = 0.5  # a video with at least this share of such chunks is a copy of a held-out lecture


def with_twins(held_out: set[str], videos: np.ndarray, vectors: np.ndarray) -> set[str]:
    """``held_out`` plus every video that is a near-copy of a held-out one.

    Courses re-record lessons (the Hugging Face course has word-for-word PyTorch/TensorFlow twins);
    training on the twin of a dev lecture would leak its content into the "held-out" evaluation.
    ``videos[i]`` is the video of chunk ``i`` and ``vectors[i]`` its L2-normalised embedding.
    """
    inside = np.isin(videos, sorted(held_out))
    if not inside.any() or inside.all():
        return set(held_out)
    copied = (vectors[~inside] @ vectors[inside].T).max(axis=1) >= TWIN_SIMILARITY
    twins = {str(video) for video in np.unique(videos[~inside]) if copied[videos[~inside] == video].mean() >= TWIN_SHARE}
    return set(held_out) | twins
