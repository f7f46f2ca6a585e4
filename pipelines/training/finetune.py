"""Contrastive fine-tuning of the embedding model on mined triplets (sentence-transformers Trainer).

MultipleNegativesRankingLoss treats every other passage in the batch as a negative, plus the
mined hard negative. Two passages of the same lecture in one batch would be pushed apart although
both may answer the anchor, so batches are built with at most one triplet per video
(``OneVideoPerBatchSampler``). The cached variant (GradCache) gives large batches in constant
memory. The model is saved under the data dir with a model card that names the data, the loss
and the held-out metrics; pointing ``COURSE_TA_EMBEDDING_MODEL`` at it re-embeds the corpus on the
next ingest, because document ids include the model.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.training.triplets.mining import Triplet

logger = logging.getLogger(__name__)


@dataclass
class FinetuneConfig:
    """The model to start from, where to save the result, and the training hyperparameters."""

    base_model: str
    output_dir: Path
    epochs: float = 1.0
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_ratio: float = 0.1
    cached: bool = False  # CachedMultipleNegativesRankingLoss: large batches, mini-batches of ``mini_batch_size``
    mini_batch_size: int = 16
    max_seq_length: int | None = None
    max_steps: int = -1
    seed: int = 13


@dataclass
class FinetuneResult:
    """Where the fine-tuned model was saved, what it was trained and scored on, and its held-out metrics."""

    model_path: Path
    train_triplets: int
    eval_triplets: int
    steps: int
    seconds: float
    metrics: dict[str, float]


def one_video_per_batch(videos: Sequence[str]) -> Any:
    """A batch-sampler factory for the trainer that never puts two triplets of one video in a batch."""
    from sentence_transformers.base.sampler import DefaultBatchSampler

    class OneVideoPerBatchSampler(DefaultBatchSampler):
        def __iter__(self) -> Iterator[list[int]]:
            rng = random.Random(self.seed + self.epoch)
            pending = list(range(len(videos)))
            rng.shuffle(pending)
            while pending:
                batch: list[int] = []
                taken: set[str] = set()
                rest: list[int] = []
                for index in pending:
                    if len(batch) < self.batch_size and videos[index] not in taken:
                        batch.append(index)
                        taken.add(videos[index])
                    else:
                        rest.append(index)
                pending = rest
                if len(batch) < self.batch_size and self.drop_last:
                    break
                yield batch

        def __len__(self) -> int:
            return (len(videos) + self.batch_size - 1) // self.batch_size

    def factory(dataset: Any, **kwargs: Any) -> Any:
        if len(dataset) != len(videos):
            raise ValueError("the sampler's video list does not match the training dataset")
        return OneVideoPerBatchSampler(dataset, **kwargs)

    return factory


def finetune(train: Sequence[Triplet], evaluation: Sequence[Triplet], config: FinetuneConfig) -> FinetuneResult:
    """Train, evaluate on the held-out triplets, save model and card; returns where it is."""
    from datasets import Dataset
    from sentence_transformers import (
        SentenceTransformer,
        SentenceTransformerModelCardData,
        SentenceTransformerTrainer,
        SentenceTransformerTrainingArguments,
    )
    from sentence_transformers.sentence_transformer.evaluation import TripletEvaluator
    from sentence_transformers.sentence_transformer.losses import CachedMultipleNegativesRankingLoss, MultipleNegativesRankingLoss

    started = time.perf_counter()
    device = training_device(train, config)
    card = SentenceTransformerModelCardData(
        language="en",
        model_name="course-ta fine-tuned all-MiniLM-L6-v2",
    )
    model = SentenceTransformer(config.base_model, device=device, model_card_data=card, local_files_only=True)
    if config.max_seq_length:
        model.max_seq_length = config.max_seq_length

    def columns(rows: Sequence[Triplet]) -> Any:
        return Dataset.from_dict(
            {"anchor": [t.anchor for t in rows], "positive": [t.positive for t in rows], "negative": [t.negative for t in rows]}
        )

    loss = (
        CachedMultipleNegativesRankingLoss(model, mini_batch_size=config.mini_batch_size)
        if config.cached
        else MultipleNegativesRankingLoss(model)
    )
    evaluator = (
        TripletEvaluator(
            [t.anchor for t in evaluation], [t.positive for t in evaluation], [t.negative for t in evaluation], name="held-out"
        )
        if evaluation
        else None
    )
    args = trainer_arguments(
        SentenceTransformerTrainingArguments, config, device, batch_sampler=one_video_per_batch([t.video_id for t in train])
    )
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=columns(train), loss=loss, evaluator=evaluator)
    return train_and_save(trainer, model, evaluator, config, train, evaluation, started, loss=type(loss).__name__)


def training_device(train: Sequence[Triplet], config: FinetuneConfig) -> str:
    """What both trainers (embedder, reranker) do first: refuse too few triplets, seed torch, pick the GPU when there is one."""
    import torch

    if len(train) < 2:
        raise ValueError(f"need at least 2 training triplets, got {len(train)}")
    torch.manual_seed(config.seed)
    return "cuda" if torch.cuda.is_available() else "cpu"


def trainer_arguments(arguments_class: Any, config: FinetuneConfig, device: str, **extra: Any) -> Any:
    """What both trainers (embedder, reranker) run with: no checkpoints, no mid-run evaluation, quiet logs."""
    return arguments_class(
        output_dir=str(_scratch_dir(config)),
        num_train_epochs=config.epochs,
        max_steps=config.max_steps,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        warmup_steps=config.warmup_ratio,  # a float is a ratio of the total steps (transformers 5)
        save_strategy="no",
        eval_strategy="no",
        logging_steps=10,
        report_to="none",
        seed=config.seed,
        use_cpu=device == "cpu",
        dataloader_num_workers=0,
        disable_tqdm=True,
        **extra,
    )


def _scratch_dir(config: FinetuneConfig) -> Path:
    return config.output_dir.parent / f".{config.output_dir.name}-checkpoints"


def train_and_save(
    trainer: Any,
    model: Any,
    evaluator: Any,
    config: FinetuneConfig,
    train: Sequence[Triplet],
    evaluation: Sequence[Triplet],
    started: float,
    **details: Any,
) -> FinetuneResult:
    """Train, score the held-out triplets, save the model with its card and ``course_ta_training.json``."""
    output = trainer.train()
    metrics: dict[str, float] = {"train_loss": round(float(output.training_loss), 4)}
    if evaluator is not None:
        metrics.update({k: round(float(v), 4) for k, v in evaluator(model).items()})
    config.output_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(config.output_dir))
    shutil.rmtree(_scratch_dir(config), ignore_errors=True)  # save_strategy="no": only the trainer's scratch files
    info = {
        **details,
        "base_model": config.base_model,
        "train_triplets": len(train),
        "train_videos": len({t.video_id for t in train}),
        "eval_triplets": len(evaluation),
        "batch_size": config.batch_size,
        "epochs": config.epochs,
        "steps": int(output.global_step),
        "learning_rate": config.learning_rate,
        "metrics": metrics,
    }
    (config.output_dir / "course_ta_training.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    append_card_notes(config.output_dir / "README.md", info)
    return FinetuneResult(config.output_dir, len(train), len(evaluation), int(output.global_step), time.perf_counter() - started, metrics)


def append_card_notes(card: Path, info: dict[str, Any]) -> None:
    """The generated card describes the trainer run; add what course-ta knows: data origin and split."""
    notes = (
        "\n\n## course-ta training notes\n\n"
        f"- Base model: `{info['base_model']}`\n"
        f"- Data: {info['train_triplets']} triplets from {info['train_videos']} lecture videos, mined by `course-ta triplets` "
        "(anchors: student-style questions generated from salient sentences and titles; positives: the chunk that "
        "contains the answer; hard negatives: BM25 + dense candidates from other videos, near-duplicates of the positive removed).\n"
        "- Held-out split by video: the videos of the dev question file are never used, not even as negatives.\n"
        f"- Loss: {info['loss']}, batch size {info['batch_size']}"
        f"{', one triplet per video per batch' if info.get('kind') != 'cross-encoder reranker' else ''}, {info['steps']} steps.\n"
        f"- Metrics: {json.dumps(info['metrics'])}\n"
    )
    existing = card.read_text(encoding="utf-8") if card.exists() else "# course-ta embedding model\n"
    card.write_text(existing + notes, encoding="utf-8")
