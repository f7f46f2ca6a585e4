"""``course-ta finetune --triplets FILE``: contrastive fine-tuning of the embedding model.

Starts from the configured embedding model (the bundled MiniLM by default), trains with
MultipleNegativesRankingLoss (``--cached`` for the GradCache variant and large batches), checks it
on triplets of videos it did not train on, and saves model + card under ``DATA_DIR/models/NAME``.
Point ``COURSE_TA_EMBEDDING_MODEL`` at the printed path and re-run ``course-ta ingest``/``sync``:
document ids include the model, so every chunk is re-embedded and the old vectors are removed.
``--reranker`` trains a cross-encoder for the optional rerank stage from the same triplets
instead (``pipelines.training.reranker_finetune``); it is used through ``COURSE_TA_RERANKER_MODEL``.
``--llm --data FILE`` fine-tunes the answer LLM instead (LoRA, from ``course-ta llm-data`` examples).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
from pathlib import Path

from bot.cli.finetune_llm import add_llm_arguments, run_llm
from pipelines.settings import load_settings
from pipelines.training.triplets import read_triplets


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta finetune`` and its options to the command line."""
    parser = subcommands.add_parser("finetune", help="fine-tune the embedding model on mined triplets")
    parser.add_argument("--triplets", type=Path, help="JSONL from `course-ta triplets`")
    parser.add_argument("--name", default="", help="model folder under DATA_DIR/models (default course-minilm, or course-reranker)")
    parser.add_argument("--reranker", action="store_true", help="train a cross-encoder reranker instead of the embedding model")
    parser.add_argument("--epochs", type=float, default=1.0)
    parser.add_argument("--batch-size", type=int, default=0, help="default 32 (embeddings, reranker) or 4 (--llm)")
    parser.add_argument("--learning-rate", type=float, default=0.0, help="default 5e-5 (embeddings, reranker) or 2e-4 (--llm LoRA)")
    add_llm_arguments(parser)
    parser.add_argument("--cached", action="store_true", help="CachedMultipleNegativesRankingLoss (big batches, constant memory)")
    parser.add_argument("--mini-batch-size", type=int, default=16, help="with --cached: texts embedded at once")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0 = the epochs decide)")
    parser.add_argument("--max-seq-length", type=int, default=0, help="truncate texts to this many tokens (0 = the model's)")
    parser.add_argument("--validation-share", type=float, default=0.08, help="share of videos kept for validation (by hash of video id)")
    parser.set_defaults(handler=run)


def validation_video(video_id: str, share: float) -> bool:
    """A fixed split by video: the same video is always on the same side, whatever the file order."""
    return hashlib.sha256(video_id.encode("utf-8")).digest()[0] < share * 256


def run(args: argparse.Namespace) -> int:
    """Train the embedding model (or ``--reranker``, or ``--llm``) and print where it was saved; exit 2 on bad input."""
    if args.llm:
        return run_llm(args)
    from pipelines.training.finetune import FinetuneConfig, finetune
    from pipelines.training.reranker_finetune import train_reranker

    if args.triplets is None:
        print("course-ta finetune: give --triplets FILE (or --llm --data FILE for the answer model)", file=sys.stderr)
        return 2
    args.batch_size = args.batch_size or 32
    args.learning_rate = args.learning_rate or 5e-5

    try:
        triplets = read_triplets(args.triplets)
    except (OSError, ValueError) as error:
        print(f"course-ta finetune: {error}", file=sys.stderr)
        return 2
    if args.reranker and args.cached:
        print("course-ta finetune: --cached is a loss for the embedding model, not for --reranker", file=sys.stderr)
        return 2
    if args.batch_size < 2 or not 0 <= args.validation_share < 0.5:
        print("course-ta finetune: --batch-size must be >= 2 and --validation-share in [0, 0.5)", file=sys.stderr)
        return 2
    validation = [t for t in triplets if validation_video(t.video_id, args.validation_share)]
    train = [t for t in triplets if not validation_video(t.video_id, args.validation_share)]
    if len(train) < 2:
        print(
            f"course-ta finetune: {args.triplets} has {len(train)} training triplets; mine more with `course-ta triplets`", file=sys.stderr
        )
        return 2
    settings = load_settings()
    # An explicit step count: one epoch is ceil(triplets / batch) batches (one triplet per video per batch).
    # The reranker sees three (question, passage) pairs per triplet: positive, hard negative, another lecture.
    rows = len(train) * (3 if args.reranker else 1)
    steps = args.max_steps or max(1, math.ceil(args.epochs * math.ceil(rows / args.batch_size)))
    config = FinetuneConfig(
        base_model=settings.embedding_model,
        output_dir=settings.data_dir / "models" / (args.name or ("course-reranker" if args.reranker else "course-minilm")),
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        cached=args.cached,
        mini_batch_size=args.mini_batch_size,
        max_seq_length=args.max_seq_length or None,
        max_steps=steps,
    )
    print(
        f"training on {len(train)} triplets ({len({t.video_id for t in train})} videos), validating on {len(validation)}; {steps} steps",
        file=sys.stderr,
    )
    result = (train_reranker if args.reranker else finetune)(train, validation, config)
    print(f"saved {result.model_path} in {result.seconds:.0f} s ({result.steps} steps); metrics {result.metrics}")
    if args.reranker:
        print(f"use it: COURSE_TA_RERANKER_MODEL={result.model_path}   (measure first: course-ta eval --compare hybrid,rerank)")
    else:
        print(f"use it: COURSE_TA_EMBEDDING_MODEL={result.model_path} course-ta ingest PATH   (re-embeds every chunk)")
    return 0
