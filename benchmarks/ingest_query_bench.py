"""Ingest and query benchmark over ../shared/corpus (241 videos), written to JSON.

Each phase runs in its own process so wall time and peak RSS belong to that phase alone:
  ingest     the whole corpus from an empty data dir
  reingest   the same corpus again with nothing changed
  query      200 questions: retrieval latency (hybrid vs BM25-only vs dense-only, same questions),
             end-to-end offline answer latency, hit@k on our own questions, serving RSS

Usage: python benchmarks/ingest_query_bench.py [--corpus ../shared/corpus] [--queries 200]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary_ms(values: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(percentile(values, 50) * 1000, 1),
        "p95_ms": round(percentile(values, 95) * 1000, 1),
        "mean_ms": round(statistics.fmean(values) * 1000, 1),
    }


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def cpu_seconds() -> float:
    """User + system CPU of this process: the work itself, whatever else shares the machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return round(usage.ru_utime + usage.ru_stime, 2)


def corpus_folders(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.iterdir() if (p / "manifest.csv").exists())


def phase_ingest(corpus: Path, data_dir: Path) -> dict:
    from pipelines.freshness.ingest import Ingestor
    from pipelines.settings import load_settings

    started = time.perf_counter()
    report = Ingestor(load_settings(data_dir=data_dir)).ingest(corpus_folders(corpus))
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "videos": len(report.outcomes),
        "added": report.count("added") + report.count("updated"),
        "unchanged": report.count("unchanged"),
        "failed": {o.video_id: o.reason for o in report.outcomes if o.status == "failed"},
        "chunks_embedded": report.chunks_added,
        "chunks_per_s": round(report.chunks_added / seconds, 1) if seconds else None,
        "cpu_s": cpu_seconds(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "peak_rss_mib": peak_rss_mib(),
    }


def build_questions(corpus: Path, count: int) -> tuple[list[dict], list[dict]]:
    """Our hand-written questions (with the expected video) first, then title questions to reach ``count``."""
    own = [json.loads(line) for line in (HERE / "questions.jsonl").read_text().splitlines() if line.strip()]
    titles = []
    for folder in corpus_folders(corpus):
        with (folder / "manifest.csv").open(encoding="utf-8") as handle:
            titles.extend(csv.DictReader(handle))
    templates = ["Can you explain {t}?", "Which lecture covers {t}?", "What should I know about {t}?"]
    generated = []
    index = 0
    while len(own) + len(generated) < count:
        row = titles[index % len(titles)]
        template = templates[(index // len(titles)) % len(templates)]
        title = row["title"].split("|")[0].strip()
        generated.append({"question": template.format(t=title), "video_id": row["video_id"]})
        index += 1
    return own, generated


def phase_query(corpus: Path, data_dir: Path, count: int) -> dict:
    from bot.answering.service import AnswerService
    from pipelines.search.query import build_retrieval_pipeline, query_inputs
    from pipelines.settings import load_settings
    from pipelines.stores.document_store import open_store

    settings = load_settings(data_dir=data_dir)
    loaded = time.perf_counter()
    bundle = open_store(settings)
    service = AnswerService(settings, bundle)
    service.warm_up()
    pipelines = {mode: build_retrieval_pipeline(settings, bundle, mode) for mode in ("hybrid", "bm25", "dense")}
    for pipeline in pipelines.values():
        pipeline.warm_up()
    startup_s = time.perf_counter() - loaded
    own, generated = build_questions(corpus, count)
    questions = own + generated
    service.answer("warm up the caches")  # first-call costs (thread pools, matrix cache) are not per-query costs

    retrieval = {}
    for mode, pipeline in pipelines.items():
        latencies, cpu, hits1, hits3, own_hits3 = [], [], 0, 0, 0
        answerable = [q for q in questions if q["video_id"]]
        for item in answerable:
            started, started_cpu = time.perf_counter(), time.process_time()
            documents = pipeline.run(query_inputs(pipeline, item["question"]))["diversity"]["documents"]
            latencies.append(time.perf_counter() - started)
            cpu.append(time.process_time() - started_cpu)
            videos = [d.meta["video_id"] for d in documents]
            hit3 = item["video_id"] in videos[:3]
            hits1 += videos[:1] == [item["video_id"]]
            hits3 += hit3
            own_hits3 += hit3 and item in own
        own_answerable = sum(1 for q in own if q["video_id"])
        retrieval[mode] = {
            **summary_ms(latencies),
            "cpu": summary_ms(cpu),
            "queries": len(latencies),
            "hit_at_1_all": round(hits1 / len(answerable), 3),
            "hit_at_3_all": round(hits3 / len(answerable), 3),
            "hit_at_3_own_questions": round(own_hits3 / own_answerable, 3),
        }

    end_to_end, end_to_end_cpu, grounded_own, cited_own, declined = [], [], 0, 0, 0
    for item in questions:
        started, started_cpu = time.perf_counter(), time.process_time()
        answer = service.answer(item["question"])
        end_to_end.append(time.perf_counter() - started)
        end_to_end_cpu.append(time.process_time() - started_cpu)
        if item in own:
            if item["video_id"] is None:
                declined += not answer.grounded
            else:
                grounded_own += answer.grounded
                cited_own += item["video_id"] in [c.video_id for c in answer.citations[:3]]
    own_answerable = sum(1 for q in own if q["video_id"])
    own_unanswerable = len(own) - own_answerable
    return {
        "startup_s": round(startup_s, 2),
        "documents": bundle.store.count_documents(),
        "questions": len(questions),
        "own_questions": len(own),
        "retrieval": retrieval,
        "end_to_end": {
            **summary_ms(end_to_end),
            "cpu": summary_ms(end_to_end_cpu),
            "queries": len(end_to_end),
            "own_grounded_rate": round(grounded_own / own_answerable, 3),
            "own_cited_in_top3": round(cited_own / own_answerable, 3),
            "own_unanswerable_declined": f"{declined}/{own_unanswerable}",
        },
        "serving_peak_rss_mib": peak_rss_mib(),
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def run_phase(name: str, corpus: Path, data_dir: Path, queries: int) -> dict:
    command = [sys.executable, __file__, "--phase", name, "--corpus", str(corpus), "--data-dir", str(data_dir), "--queries", str(queries)]
    started = time.perf_counter()
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    result = json.loads(output.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - started, 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--data-dir", type=Path, help="reuse this data dir (phases only)")
    parser.add_argument("--phase", choices=["ingest", "reingest", "query"])
    parser.add_argument("--keep", type=Path, help="keep the index in this folder (reused by --only-query)")
    parser.add_argument("--only-query", action="store_true", help="skip ingest; query the index kept in --keep")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "ingest_query.json")
    args = parser.parse_args()
    if args.phase:
        phases = {"ingest": phase_ingest, "reingest": phase_ingest}
        result = (
            phase_query(args.corpus, args.data_dir, args.queries)
            if args.phase == "query"
            else phases[args.phase](args.corpus, args.data_dir)
        )
        print(json.dumps(result))
        return 0
    if not args.corpus.exists():
        print(f"corpus {args.corpus} not found; nothing to benchmark", file=sys.stderr)
        return 0
    with tempfile.TemporaryDirectory(prefix="course-ta-bench-") as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        if args.only_query:
            previous = json.loads(args.out.read_text())
            ingest, reingest = previous["ingest_from_scratch"], previous["reingest_unchanged"]
        else:
            ingest = run_phase("ingest", args.corpus, data_dir, args.queries)
            print(f"ingest: {ingest['seconds']} s, {ingest['chunks_embedded']} chunks, {ingest['chunks_per_s']} chunks/s", file=sys.stderr)
            reingest = run_phase("reingest", args.corpus, data_dir, args.queries)
            print(f"re-ingest unchanged: {reingest['seconds']} s", file=sys.stderr)
        query = run_phase("query", args.corpus, data_dir, args.queries)
    hybrid, bm25 = query["retrieval"]["hybrid"], query["retrieval"]["bm25"]
    results = {
        "benchmark": "ingest_query",
        "machine": {"cpus": os.cpu_count()},
        "ingest_from_scratch": ingest,
        "reingest_unchanged": reingest,
        "query": query,
        "ratios": {
            "reingest_vs_ingest_wall": round(reingest["seconds"] / ingest["seconds"], 4),
            "hybrid_vs_bm25_retrieval_p95": round(hybrid["p95_ms"] / bm25["p95_ms"], 2),
            "hybrid_minus_bm25_hit_at_3_own": round(hybrid["hit_at_3_own_questions"] - bm25["hit_at_3_own_questions"], 3),
            "end_to_end_vs_retrieval_p95": round(query["end_to_end"]["p95_ms"] / hybrid["p95_ms"], 2),
        },
        "targets": {
            "full_ingest_under_600_s": ingest["seconds"] < 600,
            "unchanged_reingest_under_30_s": reingest["seconds"] < 30,
            "retrieval_p95_under_50_ms": hybrid["p95_ms"] < 50,
            "offline_end_to_end_p95_under_1500_ms": query["end_to_end"]["p95_ms"] < 1500,
            "serving_rss_under_2_gib": query["serving_peak_rss_mib"] < 2048,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
