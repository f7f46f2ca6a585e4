"""Search-quality benchmark: five configurations on the held-out dev set, one run, written to JSON + PNG.

  bm25                      BM25 alone                 (base index)
  dense                     base MiniLM dense alone    (base index)
  hybrid                    BM25 + dense, RRF          (base index)
  dense+finetuned           fine-tuned MiniLM alone    (index re-embedded with the fine-tuned model)
  hybrid+finetuned          BM25 + fine-tuned dense    (same index)
  hybrid+finetuned+rerank   + cross-encoder stage      (only with --reranker-model; none ships on PyPI)

Every dev question's video is held out of triplet mining, so the whole dev set is the held-out
split (checked against --triplets when given). Indexes are cached (--work, default /tmp) because
embedding the corpus is the slow part; the re-embedding time of the fine-tuned index is reported.
Each configuration also gets its own calibrated "not covered" threshold (pipelines.search.calibration).

Usage: python benchmarks/search_quality_bench.py --finetuned DATA_DIR/models/course-minilm
           [--corpus ../shared/corpus] [--folders hf-course,...] [--reranker-model DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def ensure_index(settings, folders: list[Path]) -> dict:
    from pipelines.freshness.ingest import Ingestor
    from pipelines.stores.document_store import open_store

    bundle = open_store(settings)
    started = time.perf_counter()
    report = Ingestor(settings, bundle).ingest(folders)
    return {
        "bundle": bundle,
        "seconds": round(time.perf_counter() - started, 1),
        "chunks_in_changed_videos": report.chunks_added,  # chunks of added/updated videos (only new ids are embedded)
        "documents": bundle.store.count_documents(),
    }


def held_out_calibration(results: list, embedding_model: str) -> dict:
    """Two-fold calibration: fit the threshold on half the dev set, score it on the other half.

    Calibrating and reporting on the same questions flatters the threshold; here answerable
    questions are split by video (a lecture's questions stay together) and unanswerable ones
    alternate, and the reported rates are those of the half the threshold never saw.
    """
    from pipelines.search.calibration import calibrate, lecture_folds

    halves = lecture_folds(results)
    kept = declined = answerable = unanswerable = 0
    thresholds = []
    for fit, test in ((halves[0], halves[1]), (halves[1], halves[0])):
        threshold = calibrate(fit, embedding_model).min_relevance
        thresholds.append(threshold)
        kept += sum(r.best_score >= threshold for r in test if r.answerable)
        declined += sum(r.best_score < threshold for r in test if not r.answerable)
        answerable += sum(r.answerable for r in test)
        unanswerable += sum(not r.answerable for r in test)
    return {
        "thresholds": thresholds,
        "kept_answerable": round(kept / max(answerable, 1), 4),
        "declined_unanswerable": round(declined / max(unanswerable, 1), 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--folders", default="", help="comma-separated corpus folders (default: all)")
    parser.add_argument("--questions", type=Path, default=REPO / "tests" / "data" / "dev_questions.jsonl")
    parser.add_argument("--finetuned", type=Path, required=True, help="fine-tuned model directory (course-ta finetune)")
    parser.add_argument("--triplets", type=Path, help="the training triplets, to check that no dev video was trained on")
    parser.add_argument("--reranker-model", default="", help="a local cross-encoder directory for the rerank row")
    parser.add_argument("--work", type=Path, default=Path("/tmp/course-ta-search-bench"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "search_quality.json")
    args = parser.parse_args()

    from pipelines.search.calibration import calibrate, effective_min_relevance
    from pipelines.search.query import RetrievalMode
    from pipelines.settings import Settings, load_settings
    from pipelines.training.evaluation.questions import read_questions
    from pipelines.training.evaluation.report import plot_hits, summary_table, write_json
    from pipelines.training.evaluation.runner import evaluate
    from pipelines.training.triplets import read_triplets

    names = [n for n in args.folders.split(",") if n] or sorted(p.name for p in args.corpus.iterdir() if (p / "manifest.csv").exists())
    folders = [args.corpus / name for name in names]
    questions = read_questions(args.questions)
    if args.triplets:
        trained = {t.video_id for t in read_triplets(args.triplets)} | {t.negative_video_id for t in read_triplets(args.triplets)}
        leaked = sorted(trained & {q.video_id for q in questions if q.video_id})
        if leaked:
            raise SystemExit(f"dev videos seen in training: {leaked}")
    tag = "-".join(names)
    # Per-video summaries (written by the LLM feature) are off: they cost a sentence-level embedding pass of the whole
    # corpus per model, and this benchmark measures retrieval of lecture passages.
    base = load_settings(data_dir=args.work / f"base-{tag}", summaries=False)
    tuned = base.model_copy(update={"data_dir": args.work / f"finetuned-{tag}", "embedding_model": str(args.finetuned.resolve())})
    print("indexing (cached)...", file=sys.stderr)
    base_index, tuned_index = ensure_index(base, folders), ensure_index(tuned, folders)
    indexed = {d.meta["video_id"] for d in base_index["bundle"].store.filter_documents()}
    questions = [q for q in questions if q.video_id is None or q.video_id in indexed]

    if base.serving_torch_threads:  # measured as served (bot.answering.service): indexing above used every core
        import torch

        torch.set_num_threads(base.serving_torch_threads)
    plan: list[tuple[str, Settings, dict, RetrievalMode]] = [
        ("bm25", base, base_index, "bm25"),
        ("dense", base, base_index, "dense"),
        ("hybrid", base, base_index, "hybrid"),
        ("dense+finetuned", tuned, tuned_index, "dense"),
        ("hybrid+finetuned", tuned, tuned_index, "hybrid"),
    ]
    if args.reranker_model:
        plan.append(("hybrid+finetuned+rerank", tuned.model_copy(update={"reranker_model": args.reranker_model}), tuned_index, "hybrid"))
    runs, calibrations = [], {}
    for name, settings, index, mode in plan:
        print(f"evaluating {name}...", file=sys.stderr)
        run = evaluate(settings, index["bundle"], questions, name=name, mode=mode)
        runs.append(run)
        chosen = calibrate(run.results, settings.embedding_model)
        calibrations[name] = {**chosen.__dict__}
        calibrated = run.with_threshold(chosen.min_relevance).summary.to_dict()
        calibrations[name]["at_calibrated"] = {
            k: calibrated[k] for k in ("decline_rate", "false_decline_rate", "window_hit", "cited_expected")
        }
        calibrations[name]["two_fold"] = held_out_calibration(run.results, settings.embedding_model)
        run.with_threshold(effective_min_relevance(settings))  # the table reports the threshold serving would use
    table = summary_table(runs)
    by_name = {run.name: run.summary for run in runs}
    print(table)
    extra = {
        "corpus_folders": names,
        "questions": str(args.questions),
        "answerable": sum(q.video_id is not None for q in questions),
        "unanswerable": sum(q.video_id is None for q in questions),
        "held_out": "every dev video is excluded from triplet mining (anchors, positives and negatives)",
        "indexes": {
            "base": {k: v for k, v in base_index.items() if k != "bundle"},
            "finetuned": {k: v for k, v in tuned_index.items() if k != "bundle"},
        },
        "finetuned_model": str(args.finetuned),
        "reranker": args.reranker_model or "none: no cross-encoder with bundled weights is installable from PyPI here",
        "default_min_relevance": base.min_relevance,
        "calibration": calibrations,
        "target": {
            "hit@3_gain_points": round(100 * (by_name["hybrid+finetuned"].hits[3] - by_name["hybrid"].hits[3]), 1),
            "met": by_name["hybrid+finetuned"].hits[3] - by_name["hybrid"].hits[3] >= 0.05,
        },
        "table": table,
    }
    write_json(runs, args.out, extra)
    plot_hits(runs, args.out.with_suffix(".png"), title=f"hit@k on {extra['answerable']} held-out dev questions")
    print(json.dumps(extra["target"]), f"\nwrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
