"""Base vs LoRA-tuned answer LLM on held-out lectures, with the offline answerer as the decline baseline; writes JSON.

Steps (each through the real commands' code): index the course (the sample course by default, or
``--corpus`` such as ../shared/corpus) unless ``--data-dir`` already holds one; build examples with
``course-ta llm-data`` (offline targets); LoRA-tune the base (the bundled SmolLM2-135M by default) on
the train split; evaluate base and tuned on the held-out split in one run (``course-ta eval --answers``).

    nice python benchmarks/llm_finetune_bench.py --out bench-llm.json [--corpus ../shared/corpus] \
        [--examples 400] [--heldout 100] [--steps 60] [--max-length 768]

Figures: ratio of well-formed grounded answers (valid citations on answerable questions) tuned/base
(target >= 3), and tuned decline accuracy minus the offline answerer's (target >= 0).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("llm_finetune_bench.json"))
    parser.add_argument("--corpus", type=Path, help="folder to index (default: the bundled sample course)")
    parser.add_argument("--data-dir", type=Path, help="use this data dir (an existing index is reused)")
    parser.add_argument("--base", default="bundled")
    parser.add_argument("--examples", type=int, default=400)
    parser.add_argument("--heldout", type=int, default=100, help="held-out examples evaluated (all when fewer)")
    parser.add_argument("--held-out-share", type=float, default=0.25)
    parser.add_argument("--steps", type=int, default=0, help="training steps (0 = one epoch)")
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--max-length", type=int, default=768)
    parser.add_argument("--max-tokens", type=int, default=96, help="answer length cap during evaluation")
    parser.add_argument("--top-k", type=int, default=3, help="passages per prompt (COURSE_TA_TOP_K)")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="llm-bench-"))
    os.environ["COURSE_TA_DATA_DIR"] = str(data_dir)
    os.environ["COURSE_TA_TOP_K"] = str(args.top_k)
    from bot.cli.demo import SAMPLE_COURSE
    from bot.cli.eval_answers import answer_table, compare_answers
    from pipelines.freshness.ingest import Ingestor
    from pipelines.llm.tuning.examples import HELD_OUT, TRAIN, build_examples, write_examples
    from pipelines.llm.tuning.models import resolve_base
    from pipelines.llm.tuning.sft import LlmFinetuneConfig, finetune_llm
    from pipelines.settings import load_settings
    from pipelines.stores.document_store import open_store

    settings = load_settings()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    bundle = open_store(settings)
    if bundle.store.count_documents() == 0:
        Ingestor(settings).ingest([args.corpus or SAMPLE_COURSE])
        bundle = open_store(settings)
    timings["index_s"] = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    report = build_examples(settings, bundle, held_out_share=args.held_out_share, max_examples=args.examples)
    write_examples(report.examples, data_dir / "llm-examples.jsonl")
    timings["examples_s"] = round(time.perf_counter() - started, 1)
    train = [e for e in report.examples if e.split == TRAIN]
    heldout = [e for e in report.examples if e.split == HELD_OUT][: args.heldout]
    print(f"{len(train)} train / {len(heldout)} held-out examples; held-out lectures {report.held_out_videos}", file=sys.stderr)
    started = time.perf_counter()
    base = resolve_base(args.base, data_dir / "models" / "base")
    timings["base_convert_s"] = round(time.perf_counter() - started, 1)
    config = LlmFinetuneConfig(
        base_model=base,
        output_dir=data_dir / "models" / "course-answers",
        batch_size=args.batch_size,
        max_length=args.max_length,
        max_steps=args.steps,
        base_label=args.base,
    )
    result = finetune_llm(train, heldout[:20], config)
    timings["train_s"] = round(result.seconds, 1)
    started = time.perf_counter()
    models = compare_answers(heldout, {"base": base, "tuned": result.adapter_path}, args.max_tokens)
    timings["eval_s"] = round(time.perf_counter() - started, 1)
    by_name = {m["name"]: m for m in models}
    base_valid, tuned_valid = by_name["base"]["valid_citations"] or 0.0, by_name["tuned"]["valid_citations"] or 0.0
    figures = {
        "valid_citations_tuned_over_base": round(tuned_valid / base_valid, 2) if base_valid else None,
        "valid_citations_tuned_minus_base": round(tuned_valid - base_valid, 4),
        "decline_accuracy_tuned_minus_offline": (
            round((by_name["tuned"]["decline_accuracy"] or 0) - (by_name["offline-extractive"]["decline_accuracy"] or 0), 4)
            if by_name["offline-extractive"]["decline_accuracy"] is not None
            else None
        ),
    }
    output = {
        "corpus": str(args.corpus or SAMPLE_COURSE),
        "base": args.base,
        "examples": report.counts(),
        "skipped": report.skipped,
        "held_out_lectures": report.held_out_videos,
        "heldout_evaluated": len(heldout),
        "training": {
            "steps": result.steps,
            "train_examples": result.train_examples,
            "dropped_too_long": result.dropped_too_long,
            **result.metrics,
        },
        "settings": {
            "top_k": args.top_k,
            "max_length": args.max_length,
            "max_tokens": args.max_tokens,
            "torch_threads": torch.get_num_threads(),
        },
        "timings": timings,
        "figures": figures,
        "models": models,
    }
    args.out.write_text(json.dumps(output, indent=2), encoding="utf-8")
    print(answer_table(models))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
