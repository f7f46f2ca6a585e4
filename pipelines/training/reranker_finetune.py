"""Training a cross-encoder reranker on the mined triplets, for the optional rerank stage.

No cross-encoder ships its weights on PyPI and none can be downloaded here, so the rerank stage
(``pipelines.search.reranking``) would have nothing to run. The same triplets that fine-tune the
embedder can train one: every (anchor, positive) pair is labelled 1, the mined hard negative and
one passage from another triplet's lecture are labelled 0, and sentence-transformers'
``CrossEncoderTrainer`` fits a ``BinaryCrossEntropyLoss`` head on a transformer that starts from
the embedding model's weights (the bundled MiniLM). That is the recipe of the MS MARCO
cross-encoders, with far less data: measure it (``course-ta eval --compare hybrid,rerank``)
before serving with it.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from pipelines.training.finetune import FinetuneConfig, FinetuneResult, train_and_save, trainer_arguments, training_device
from pipelines.training.triplets.mining import Triplet


def pair_rows(triplets: Sequence[Triplet], seed: int) -> dict[str, list]:
    """(query, passage, label) columns: the positive, the hard negative, and one passage of another lecture."""
    rng = random.Random(seed)
    queries: list[str] = []
    passages: list[str] = []
    labels: list[float] = []
    for triplet in triplets:
        other = next((o for o in (triplets[rng.randrange(len(triplets))] for _ in range(8)) if o.video_id != triplet.video_id), None)
        rows = [(triplet.positive, 1.0), (triplet.negative, 0.0)] + ([(other.positive, 0.0)] if other else [])
        for passage, label in rows:
            queries.append(triplet.anchor)
            passages.append(passage)
            labels.append(label)
    return {"query": queries, "passage": passages, "label": labels}


def train_reranker(train: Sequence[Triplet], evaluation: Sequence[Triplet], config: FinetuneConfig) -> FinetuneResult:
    """Train, evaluate reranking of the held-out triplets, save model and card; returns where it is."""
    import torch
    from datasets import Dataset
    from sentence_transformers.cross_encoder import (
        CrossEncoder,
        CrossEncoderModelCardData,
        CrossEncoderTrainer,
        CrossEncoderTrainingArguments,
    )
    from sentence_transformers.cross_encoder.evaluation import CrossEncoderRerankingEvaluator
    from sentence_transformers.cross_encoder.losses import BinaryCrossEntropyLoss

    started = time.perf_counter()
    device = training_device(train, config)
    card = CrossEncoderModelCardData(language="en", model_name="course-ta reranker (cross-encoder from all-MiniLM-L6-v2)")
    model = CrossEncoder(
        config.base_model, num_labels=1, device=device, model_card_data=card, local_files_only=True, max_length=config.max_seq_length
    )
    rows = pair_rows(train, config.seed)
    positives = sum(rows["label"])
    # Two negatives per positive: weight the positives up so the head does not learn "say no".
    loss = BinaryCrossEntropyLoss(model, pos_weight=torch.tensor((len(rows["label"]) - positives) / max(positives, 1)))
    evaluator = (
        CrossEncoderRerankingEvaluator(
            [{"query": t.anchor, "positive": [t.positive], "negative": [t.negative]} for t in evaluation],
            at_k=10,
            name="held-out",
            write_csv=False,
        )
        if evaluation
        else None
    )
    args = trainer_arguments(CrossEncoderTrainingArguments, config, device)
    trainer = CrossEncoderTrainer(model=model, args=args, train_dataset=Dataset.from_dict(rows), loss=loss, evaluator=evaluator)
    return train_and_save(
        trainer,
        model,
        evaluator,
        config,
        train,
        evaluation,
        started,
        kind="cross-encoder reranker",
        loss=type(loss).__name__,
        train_pairs=len(rows["label"]),
    )
