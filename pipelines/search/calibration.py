"""Choosing the "not covered" threshold (``min_relevance``) from the dev set instead of by hand.

Every dev question was answered with the threshold off, so its relevance score is known.
A threshold t declines a question iff its score < t. We pick the t that maximises balanced
accuracy: the mean of (answerable questions kept) and (unanswerable questions declined), so the
few unanswerable questions weigh as much as the many answerable ones, among the thresholds that
wrongly decline at most ``max_false_declines`` of the answerable questions. That cap is there
because the two errors do not cost the same: a student told "not covered" about a lecture that
covers it loses the answer, while an off-topic question answered with the nearest lecture
passages loses little (the quote shows it is a stretch). Among equally good thresholds the
midpoint of the widest gap is taken, which is the most robust to new questions.

The chosen threshold is saved to ``DATA_DIR/calibration.json`` with the embedding model it was
measured with and the answerer's relevance formula; ``effective_min_relevance`` uses it whenever
``COURSE_TA_MIN_RELEVANCE`` is not set explicitly and both match (scores shift when either changes).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from itertools import pairwise
from pathlib import Path

from pipelines.search.offline_answerer import RELEVANCE_SCORING
from pipelines.settings import Settings
from pipelines.training.evaluation.metrics import QuestionResult

CALIBRATION_FILE = "calibration.json"
MAX_FALSE_DECLINES = 0.05


@dataclass(frozen=True)
class Calibration:
    """A chosen threshold, how well it separated the dev set, and the embedding model its scores came from."""

    min_relevance: float
    balanced_accuracy: float
    kept_answerable: float
    declined_unanswerable: float
    answerable: int
    unanswerable: int
    embedding_model: str = ""
    max_false_declines: float = MAX_FALSE_DECLINES
    scoring: str = ""  # the answerer's relevance formula the scores came from (RELEVANCE_SCORING)

    def save(self, data_dir: Path) -> Path:
        """Write it to ``DATA_DIR/calibration.json`` (where ``load_calibration`` reads it) and return that path."""
        path = data_dir / CALIBRATION_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        return path


def calibrate(results: list[QuestionResult], embedding_model: str = "", max_false_declines: float = MAX_FALSE_DECLINES) -> Calibration:
    """The balanced-accuracy-best threshold within the false-decline cap; needs answerable and unanswerable questions."""
    if not 0 <= max_false_declines <= 1:
        raise ValueError(f"max_false_declines must be in [0, 1], got {max_false_declines}")
    kept = sorted(r.best_score for r in results if r.answerable)
    declined = sorted(r.best_score for r in results if not r.answerable)
    if not kept or not declined:
        raise ValueError("calibration needs both answerable and unanswerable questions in the dev set")
    scores = sorted(set(kept + declined))
    # Candidate thresholds: midpoints between consecutive distinct scores, plus one below and above all.
    candidates = [scores[0] - 0.01] + [(a + b) / 2 for a, b in pairwise(scores)] + [scores[-1] + 0.01]
    best: tuple[float, float, float] | None = None  # (balanced accuracy, gap width, threshold)
    for threshold in candidates:
        keep_rate = sum(s >= threshold for s in kept) / len(kept)
        if keep_rate < 1 - max_false_declines - 1e-9:
            continue
        decline_rate = sum(s < threshold for s in declined) / len(declined)
        balanced = (keep_rate + decline_rate) / 2
        below = max((s for s in scores if s < threshold), default=threshold - 0.02)
        above = min((s for s in scores if s >= threshold), default=threshold + 0.02)
        key = (round(balanced, 9), above - below, threshold)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    threshold = round(best[2], 4)
    return Calibration(
        min_relevance=threshold,
        balanced_accuracy=round(best[0], 4),
        kept_answerable=round(sum(s >= threshold for s in kept) / len(kept), 4),
        declined_unanswerable=round(sum(s < threshold for s in declined) / len(declined), 4),
        answerable=len(kept),
        unanswerable=len(declined),
        embedding_model=embedding_model,
        max_false_declines=max_false_declines,
        scoring=RELEVANCE_SCORING,
    )


def lecture_folds(results: list[QuestionResult]) -> tuple[list[QuestionResult], list[QuestionResult]]:
    """Two halves for honest calibration: answerable questions split by lecture, unanswerable ones alternating.

    A lecture's questions stay together, so a threshold fitted on one half is scored on lectures it never saw.
    """
    halves: tuple[list[QuestionResult], list[QuestionResult]] = ([], [])
    for index, result in enumerate(results):
        if result.expected_video is None:
            side = index % 2
        else:
            side = hashlib.sha256(result.expected_video.encode()).digest()[0] % 2
        halves[side].append(result)
    return halves


def load_calibration(data_dir: Path) -> Calibration | None:
    """The saved calibration, or None when there is none or it cannot be read (then the default applies)."""
    path = data_dir / CALIBRATION_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Calibration(**{k: data[k] for k in Calibration.__dataclass_fields__ if k in data})
    except (OSError, ValueError, TypeError):
        return None


def effective_min_relevance(settings: Settings) -> float:
    """The "not covered" threshold to serve with: explicit setting, else calibration for this model, else default."""
    if "min_relevance" in settings.model_fields_set:
        return settings.min_relevance
    saved = load_calibration(settings.data_dir)
    if saved is not None and saved.embedding_model == settings.embedding_model and saved.scoring == RELEVANCE_SCORING:
        return saved.min_relevance
    return settings.min_relevance
