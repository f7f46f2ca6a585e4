"""LoRA supervised fine-tuning of the answer LLM with PEFT and TRL's ``SFTTrainer``.

Examples are conversational prompt-completion pairs (see :mod:`pipelines.llm.tuning.examples`):
TRL renders the prompt with the tokenizer's chat template and a generation prompt, exactly as the
serving side renders a request, and computes the loss on the completion tokens only. An example
longer than ``max_length`` is dropped rather than truncated (truncation would cut the answer off, or
train on a prompt the model never sees at serving time). The adapter is saved with its tokenizer
and a model card; ``merge`` also writes full merged weights for servers that do not take adapters.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pipelines.llm.tuning.examples import LlmExample
from pipelines.llm.tuning.models import load_tokenizer

DEFAULT_TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj")


@dataclass
class LlmFinetuneConfig:
    """What to train and how; everything here goes into the model card."""

    base_model: Path  # a Hugging Face causal LM folder
    output_dir: Path
    epochs: float = 1.0
    batch_size: int = 4
    gradient_accumulation: int = 1
    learning_rate: float = 2e-4
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = DEFAULT_TARGET_MODULES
    max_length: int = 1024
    max_steps: int = 0  # 0 = the epochs decide
    merge: bool = False
    seed: int = 0
    base_label: str = ""  # how the base was named on the command line ("bundled", a path)


@dataclass
class LlmFinetuneResult:
    """Where the adapter (and merged weights) went, how long it took and the held-out figures."""

    adapter_path: Path
    merged_path: Path | None
    seconds: float
    steps: int
    train_examples: int
    dropped_too_long: int
    metrics: dict[str, Any] = field(default_factory=dict)


def _rows(examples: Sequence[LlmExample]) -> list[dict[str, Any]]:
    return [{"prompt": e.prompt, "completion": e.completion} for e in examples]


def token_length(tokenizer: Any, example: LlmExample) -> int:
    """Tokens of the rendered prompt plus the completion, as the trainer will see them."""
    ids = tokenizer.apply_chat_template(example.prompt + example.completion, tokenize=True)
    if isinstance(ids, dict) or hasattr(ids, "keys"):
        ids = ids["input_ids"]
    return len(ids)


def finetune_llm(train: Sequence[LlmExample], heldout: Sequence[LlmExample], config: LlmFinetuneConfig) -> LlmFinetuneResult:
    """Train a LoRA adapter on ``train``, report the loss on ``heldout`` before and after, and save adapter and card."""
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    tokenizer = load_tokenizer(config.base_model)
    kept = [e for e in train if token_length(tokenizer, e) <= config.max_length]
    held = [e for e in heldout if token_length(tokenizer, e) <= config.max_length]
    if not kept:
        raise ValueError(f"every training example is longer than --max-length {config.max_length} tokens")
    model = AutoModelForCausalLM.from_pretrained(config.base_model)
    steps = config.max_steps or max(1, math.ceil(config.epochs * math.ceil(len(kept) / (config.batch_size * config.gradient_accumulation))))
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(config.target_modules),
        task_type="CAUSAL_LM",
    )
    with tempfile.TemporaryDirectory(prefix="course-ta-sft-") as scratch:
        arguments = SFTConfig(
            output_dir=scratch,
            max_steps=steps,
            per_device_train_batch_size=config.batch_size,
            per_device_eval_batch_size=config.batch_size,
            gradient_accumulation_steps=config.gradient_accumulation,
            learning_rate=config.learning_rate,
            lr_scheduler_type="linear",
            warmup_steps=0,
            max_length=config.max_length,
            completion_only_loss=True,  # the loss is on the answer tokens, never on the passages
            logging_steps=max(1, steps // 10),
            save_strategy="no",
            report_to=[],
            seed=config.seed,
            use_cpu=True,
            dataloader_num_workers=0,
            disable_tqdm=True,
        )
        trainer = SFTTrainer(
            model=model,
            args=arguments,
            train_dataset=Dataset.from_list(_rows(kept)),
            eval_dataset=Dataset.from_list(_rows(held)) if held else None,
            processing_class=tokenizer,
            peft_config=lora,
        )
        metrics: dict[str, Any] = {}
        if held:
            metrics["heldout_loss_before"] = round(float(trainer.evaluate()["eval_loss"]), 4)
        started = time.perf_counter()
        output = trainer.train()
        seconds = time.perf_counter() - started
        metrics["train_loss"] = round(float(output.training_loss), 4)
        if held:
            metrics["heldout_loss_after"] = round(float(trainer.evaluate()["eval_loss"]), 4)
        adapter = config.output_dir / "adapter"
        tuned: Any = trainer.model
        tuned.save_pretrained(adapter)
        tokenizer.save_pretrained(adapter)
        _point_at_base(adapter, config.base_model)
        merged = None
        if config.merge:
            merged = config.output_dir / "merged"
            tuned.merge_and_unload().save_pretrained(merged)
            tokenizer.save_pretrained(merged)
    result = LlmFinetuneResult(adapter, merged, seconds, steps, len(kept), len(train) - len(kept), metrics)
    write_card(config, result, kept, held)
    return result


def _point_at_base(adapter: Path, base: Path) -> None:
    """Record the base model's absolute path in the adapter config, so the adapter loads from anywhere."""
    path = adapter / "adapter_config.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["base_model_name_or_path"] = str(base.resolve())
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")


def write_card(config: LlmFinetuneConfig, result: LlmFinetuneResult, train: Sequence[LlmExample], heldout: Sequence[LlmExample]) -> Path:
    """``README.md`` (for people) and ``training.json`` (for tools): data, base, hyper-parameters, metrics."""
    hyper = {k: (str(v) if isinstance(v, Path) else list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()}
    data = {
        "train_examples": len(train),
        "train_answerable": sum(e.answerable for e in train),
        "train_lectures": sorted({e.video_id for e in train if e.video_id}),
        "heldout_examples": len(heldout),
        "heldout_lectures": sorted({e.video_id for e in heldout if e.video_id}),
        "dropped_too_long": result.dropped_too_long,
        "targets_from": sorted({e.target_from for e in train}),
    }
    summary = {
        "base_model": str(config.base_model),
        "base_label": config.base_label or str(config.base_model),
        "data": data,
        "hyperparameters": hyper,
        "steps": result.steps,
        "train_seconds": round(result.seconds, 1),
        "metrics": result.metrics,
        "adapter": str(result.adapter_path),
        "merged": str(result.merged_path) if result.merged_path else None,
    }
    config.output_dir.mkdir(parents=True, exist_ok=True)
    (config.output_dir / "training.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    lines = [
        "# course-ta answer model (LoRA)",
        "",
        f"Base: `{summary['base_label']}` ({config.base_model}). Trained by `course-ta finetune --llm` on answers in the serving prompt's shape.",
        "",
        "## Data",
        *(f"- {k}: {v}" for k, v in data.items()),
        "",
        "## Hyper-parameters",
        *(f"- {k}: {v}" for k, v in hyper.items()),
        "",
        "## Metrics",
        f"- steps: {result.steps}, training time: {result.seconds:.0f} s",
        *(f"- {k}: {v}" for k, v in result.metrics.items()),
        "",
        "Answer quality (citations, declines, faithfulness): `course-ta eval --answers FILE --tuned DIR`.",
    ]
    path = config.output_dir / "README.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
