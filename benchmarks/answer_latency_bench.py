"""Single-client offline answer latency and dev-set quality per retrieval depth (``COURSE_TA_CANDIDATES``), in one run.

Every variant is a real :class:`bot.answering.service.AnswerService` over the same index (question
validation, the Haystack query pipeline, the offline answerer; the torch thread count serving uses),
and the dev questions are asked round-robin across the variants, so machine load falls on all of them
alike. The first variant is the baseline every ratio is taken against. Quality comes from the
evaluation runner (hit@k, the cited moment inside the expected window, false declines at the
calibrated threshold) for each depth.

Why depth: the Haystack pipeline deep-copies each component's inputs, so every candidate a
retriever returns is copied at fusion, at the per-video cap and at the answerer; fewer candidates is
less copying and less BM25 noise in the fused list.

    nice python benchmarks/answer_latency_bench.py --data DATA_DIR [--candidates 40,16] [--out FILE]

``DATA_DIR`` is an ingested data dir (``course-ta ingest ../shared/corpus/*`` or
``benchmarks/serving_bench.py``'s); quality only means something on the full 241-video corpus.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

QUALITY_KEYS = ("hit@1", "hit@3", "mrr", "cited_first", "cited_expected", "window_hit", "false_decline_rate", "decline_rate")


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile in milliseconds, rounded."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] * 1000, 1) if ordered else 0.0


def main() -> int:
    """Measure every depth on one index and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="an ingested data dir")
    parser.add_argument("--candidates", default="40,16", help="comma-separated depths; the first is the baseline")
    parser.add_argument("--questions", type=Path, default=REPO / "tests" / "data" / "dev_questions.jsonl")
    parser.add_argument("--rounds", type=int, default=1, help="times each question is asked per variant")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "answer_latency.json")
    args = parser.parse_args()
    if not (args.data / "store").is_dir():
        parser.error(f"no index in {args.data} (ingest first)")

    from bot.answering.service import AnswerService
    from pipelines.settings import load_settings
    from pipelines.stores.document_store import open_store
    from pipelines.training.evaluation.questions import read_questions
    from pipelines.training.evaluation.runner import evaluate

    depths = [int(d) for d in args.candidates.split(",") if d.strip()]
    settings = load_settings(data_dir=args.data, llm_answers=False)
    bundle = open_store(settings)
    services = {depth: AnswerService(settings.model_copy(update={"candidates": depth}), bundle) for depth in depths}
    for service in services.values():
        service.warm_up()
        service.answer("warm up the caches")
    questions = read_questions(args.questions)
    latencies: dict[int, list[float]] = {depth: [] for depth in depths}
    grounded: dict[int, int] = dict.fromkeys(depths, 0)
    for _ in range(args.rounds):
        for item in questions:
            for depth, service in services.items():
                started = time.perf_counter()
                answer = service.answer(item.question)
                latencies[depth].append(time.perf_counter() - started)
                grounded[depth] += int(answer.grounded)
    base = depths[0]
    result: dict = {
        "index": str(args.data),
        "chunks": bundle.store.count_documents(),
        "questions": len(questions),
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "torch_threads": settings.serving_torch_threads,
        "load_average_1m": round(os.getloadavg()[0], 2),
        "baseline_candidates": base,
        "variants": {},
    }
    for depth in depths:
        entry: dict = {
            "p50_ms": percentile(latencies[depth], 0.5),
            "p95_ms": percentile(latencies[depth], 0.95),
            "p99_ms": percentile(latencies[depth], 0.99),
            "grounded_answers": grounded[depth],
        }
        entry["p50_vs_baseline"] = round(entry["p50_ms"] / max(percentile(latencies[base], 0.5), 1e-9), 3)
        entry["p95_vs_baseline"] = round(entry["p95_ms"] / max(percentile(latencies[base], 0.95), 1e-9), 3)
        if not args.skip_quality:
            summary = evaluate(settings.model_copy(update={"candidates": depth}), bundle, questions, name=f"candidates={depth}")
            quality = summary.summary.to_dict()
            entry["quality"] = {k: quality.get(k) for k in QUALITY_KEYS}
        result["variants"][str(depth)] = entry
    if not args.skip_quality:
        reference = result["variants"][str(base)]["quality"]
        for entry in result["variants"].values():
            entry["quality_points_vs_baseline"] = {
                k: round(100 * ((entry["quality"][k] or 0) - (reference[k] or 0)), 2) for k in QUALITY_KEYS if reference.get(k) is not None
            }
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
