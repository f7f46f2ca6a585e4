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
