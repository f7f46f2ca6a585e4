"""``course-ta finetune --llm --data FILE``: LoRA fine-tuning of the answer LLM on ``course-ta llm-data`` examples.

Trains on the file's ``train`` split, reports the loss on its held-out lectures, and saves the
adapter, its tokenizer and a model card under ``DATA_DIR/models/NAME`` (``--merge`` adds merged
weights). Serve it with ``python -m pipelines.llm.tuning.serving --model PATH`` and point
``COURSE_TA_LLM_BASE_URL``/``COURSE_TA_LLM_MODEL`` at it; the app is unchanged.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.settings import load_settings


def add_llm_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--llm`` options of ``course-ta finetune``."""
    group = parser.add_argument_group("answer LLM (--llm)")
    group.add_argument("--llm", action="store_true", help="LoRA-tune the answer LLM on `course-ta llm-data` examples instead")
    group.add_argument("--data", type=Path, help="with --llm: JSONL from `course-ta llm-data`")
    group.add_argument(
        "--base", default="bundled", help="with --llm: Hugging Face causal LM folder, a .gguf file, or 'bundled' (SmolLM2-135M, default)"
    )
    group.add_argument("--max-length", type=int, default=1024, help="with --llm: longest example in tokens (longer ones are dropped)")
    group.add_argument("--lora-r", type=int, default=16, help="with --llm: LoRA rank (alpha is twice the rank)")
    group.add_argument("--gradient-accumulation", type=int, default=1, help="with --llm: batches per optimizer step")
    group.add_argument("--max-examples", type=int, default=0, help="with --llm: train on at most this many examples (0 = all)")
    group.add_argument("--merge", action="store_true", help="with --llm: also save merged full weights")


def run_llm(args: argparse.Namespace) -> int:
    """Train the LoRA adapter and print where it went and how to serve it; exit 2 on bad input."""
    from pipelines.llm.tuning.examples import HELD_OUT, TRAIN, read_examples
    from pipelines.llm.tuning.models import ModelSourceError, resolve_base
    from pipelines.llm.tuning.sft import LlmFinetuneConfig, finetune_llm

    if args.data is None:
        print("course-ta finetune: --llm needs --data FILE.jsonl from `course-ta llm-data`", file=sys.stderr)
        return 2
    if args.lora_r < 1 or args.max_length < 64 or args.gradient_accumulation < 1:
        print("course-ta finetune: --lora-r and --gradient-accumulation must be >= 1 and --max-length >= 64", file=sys.stderr)
        return 2
    try:
        examples = read_examples(args.data)
    except ValueError as error:
        print(f"course-ta finetune: {error}", file=sys.stderr)
        return 2
    train = [e for e in examples if e.split == TRAIN]
    heldout = [e for e in examples if e.split == HELD_OUT]
    if args.max_examples:
        train = train[: args.max_examples]
    if not train:
        print(f"course-ta finetune: {args.data} has no training examples", file=sys.stderr)
        return 2
    settings = load_settings()
    try:
        base = resolve_base(args.base, settings.data_dir / "models" / "base")
    except ModelSourceError as error:
        print(f"course-ta finetune: {error}", file=sys.stderr)
        return 2
    config = LlmFinetuneConfig(
        base_model=base,
        output_dir=settings.data_dir / "models" / (args.name or "course-answers"),
        epochs=args.epochs,
        batch_size=args.batch_size or 4,
        gradient_accumulation=args.gradient_accumulation,
        learning_rate=args.learning_rate or 2e-4,
        lora_r=args.lora_r,
        lora_alpha=2 * args.lora_r,
        max_length=args.max_length,
        max_steps=args.max_steps,
        merge=args.merge,
        base_label=str(args.base),
    )
    print(f"training a LoRA adapter on {len(train)} examples, held-out loss on {len(heldout)}; base {base}", file=sys.stderr)
    try:
        result = finetune_llm(train, heldout, config)
    except ValueError as error:
        print(f"course-ta finetune: {error}", file=sys.stderr)
        return 2
    print(f"saved {result.adapter_path} in {result.seconds:.0f} s ({result.steps} steps); metrics {result.metrics}")
    served = result.merged_path or result.adapter_path
    print(f"serve it: python -m pipelines.llm.tuning.serving --model {served} --name course-answers --port 8088")
    print("then: COURSE_TA_LLM_BASE_URL=http://127.0.0.1:8088/v1 COURSE_TA_LLM_MODEL=course-answers course-ta ask ...")
    return 0
