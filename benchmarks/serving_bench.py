"""Serving and ingest at the embedding limit, per embedding backend (torch, onnx, onnx-int8) and sentence-vector method, in one run.

For each backend, in a fresh process, from scratch in its own data dir:
- **ingest**: the full ingest (summaries on: transcripts, cleaning, extractive summaries, chunk and
  sentence vectors, store saves), then, on exactly the chunks it stored, the bare forward passes:
  chunk embedding alone (the baseline the full ingest is compared with) and sentence embedding alone.
  With ``--sentence-vectors separate,late`` each backend is ingested once per method
  (``COURSE_TA_SENTENCE_VECTORS``; entries ``torch`` and ``torch+late``); the bare chunk embedding
  is always the plain embedder's, so ``ingest_vs_bare_chunk_embedding`` compares each method with the
  same baseline, and every run checks that its stored chunk vectors equal the plain embedder's.
  ``--profile`` adds the top of a cProfile of the ingest (the calling thread only: the engine's
  worker threads need py-spy, ``py-spy record --subprocesses``).
- **serve**, in another fresh process on that index: offline answers of the dev questions, single
  client, with the stored sentence vectors and (same process, same questions) with the old way of
  embedding the retrieved sentences per question, how many answers are identical, the process's
  RSS with the store and vectors loaded; and dev-set quality through the evaluation runner
  (hit@1 / hit@3 / window hit), compared with the torch backend of the same run.

    nice python benchmarks/serving_bench.py [--limit 30] [--backends torch,onnx,onnx-int8] [--sentence-vectors separate,late]
                                            [--profile] [--skip-serve] [--out FILE]

``--limit N`` ingests the first N videos of each corpus folder (quality then only means something on the full corpus).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import shutil
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


def rss_mib() -> float:
    """This process's resident set now."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def subset_corpus(corpus: Path, limit: int, into: Path) -> list[Path]:
    """The corpus folders, or (``limit``) folders of links to the first ``limit`` videos of each, with their manifests."""
    if limit <= 0:
        return [corpus / name for name in FOLDERS]
    folders = []
    for name in FOLDERS:
        source, target = corpus / name, into / name
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        ids = sorted({p.name.split(".")[0] for p in source.iterdir() if p.name != "manifest.csv" and not p.name.startswith(".")})[:limit]
        for path in source.iterdir():
            if path.name == "manifest.csv" or path.name.split(".")[0] in ids:
                (target / path.name).symlink_to(path)
        folders.append(target)
    return folders


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile in milliseconds, rounded."""
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] * 1000, 1) if ordered else 0.0


def ingest_child(backend: str, data_dir: Path, folders: list[Path], profile: bool, method: str = "separate") -> dict:
    """Full ingest from scratch, then the bare chunk and sentence forward passes on the stored chunks."""
    from pipelines.freshness.ingest import Ingestor
    from pipelines.search.embedders import document_embedder
    from pipelines.search.sentence_vectors import chunk_sentences, scored_positions, stored_method, text_vectors
    from pipelines.settings import load_settings

    settings = load_settings(data_dir=data_dir, embedding_backend=backend, summaries=True, sentence_vectors=method)
    # The baseline is the plain chunk embedder whatever the method (the late one runs the same pass plus pooling).
    embedder = document_embedder(settings.model_copy(update={"sentence_vectors": "separate"}))
    started = time.perf_counter()
    embedder.warm_up()  # model load (and the one-time ONNX export) is reported apart from the ingest
    embedder.run(documents=[])
    load_s = time.perf_counter() - started
    from pipelines.search import sentence_vectors

    # Every text embedded on its own during the ingest (summary candidates; sentences, or late-chunking's fallbacks), timed.
    alone = {"texts": 0, "s": 0.0}
    embed_alone = sentence_vectors._embed

    def timed_embed(embedder, texts):
        started = time.perf_counter()
        try:
            return embed_alone(embedder, texts)
        finally:
            alone["texts"] += len(texts)
            alone["s"] += time.perf_counter() - started

    sentence_vectors._embed = timed_embed
    profiler = cProfile.Profile() if profile else None
    wall, cpu = time.perf_counter(), time.process_time()
    ingestor = Ingestor(settings)
    if profiler:
        profiler.enable()
    report = ingestor.ingest(folders)
    if profiler:
        profiler.disable()
    ingest_s, ingest_cpu = time.perf_counter() - wall, time.process_time() - cpu
    sentence_vectors._embed = embed_alone
    from haystack import Document

    chunks = [d for d in ingestor.bundle.store.filter_documents() if d.meta.get("kind") == "chunk"]
    bare = [Document(content=d.content, meta={"title": d.meta.get("title")}) for d in chunks]
    wall, cpu = time.perf_counter(), time.process_time()
    plain = embedder.run(documents=bare)["documents"]
    chunk_s, chunk_cpu = time.perf_counter() - wall, time.process_time() - cpu
    import numpy as np

    storage = getattr(ingestor.bundle.store, "storage", {})  # the embedded store keeps embeddings there (reads omit them)
    pairs = [(storage[d.id].embedding, p.embedding) for d, p in zip(chunks, plain, strict=True) if d.id in storage]
    stored = np.asarray([a for a, _ in pairs], dtype=np.float32)
    max_chunk_vector_diff = float(np.abs(stored - np.asarray([b for _, b in pairs], dtype=np.float32)).max()) if pairs else None
    sentences = sorted({split[p][0] for d in chunks for split in [chunk_sentences(d)] for p in scored_positions(split)})
    sentence_s: float | None = None
    if method == "separate":  # the late ingest never runs this pass, so it is not a baseline there
        wall = time.perf_counter()
        text_vectors(embedder, sentences, memo=False)
        sentence_s = time.perf_counter() - wall
    methods: dict[str, int] = {}
    for document in chunks:
        key = str(stored_method(document))
        methods[key] = methods.get(key, 0) + 1
    result = {
        "backend": backend,
        "sentence_vectors": method,
        "videos": len(report.outcomes),
        "failed": report.count("failed"),
        "chunks": len(chunks),
        "unique_sentences_embedded": len(sentences),
        "model_load_s": round(load_s, 2),
        "full_ingest_s": round(ingest_s, 1),
        "full_ingest_cpu_s": round(ingest_cpu, 1),
        "texts_embedded_alone_during_ingest": alone["texts"],
        "embedding_alone_during_ingest_s": round(alone["s"], 1),
        "bare_chunk_embedding_s": round(chunk_s, 1),
        "bare_chunk_embedding_cpu_s": round(chunk_cpu, 1),
        "bare_sentence_embedding_s": None if sentence_s is None else round(sentence_s, 1),
        "chunks_per_s": round(len(chunks) / max(chunk_s, 1e-9), 1),
        "ingest_vs_bare_chunk_embedding": round(ingest_s / max(chunk_s, 1e-9), 2),
        "ingest_cpu_vs_bare_chunk_embedding_cpu": round(ingest_cpu / max(chunk_cpu, 1e-9), 2),
        "ingest_vs_bare_chunk_plus_sentence_embedding": None
        if sentence_s is None
        else round(ingest_s / max(chunk_s + sentence_s, 1e-9), 2),
        "chunks_with_sentence_vectors": sum(1 for d in chunks if "sentence_vectors" in d.meta),
        "stored_sentence_vector_methods": methods,
        "max_abs_diff_stored_vs_plain_chunk_vectors": max_chunk_vector_diff,
    }
    if profiler:
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(25)
        result["profile"] = buffer.getvalue().splitlines()
    return result


def serve_child(backend: str, data_dir: Path, questions_path: Path, max_questions: int) -> dict:
    """Answer latency with stored vs per-question sentence vectors, identical answers, RSS, and dev-set quality."""
    from pipelines.search.query import build_query_pipeline, query_inputs
    from pipelines.settings import load_settings
    from pipelines.stores.document_store import open_store
    from pipelines.training.evaluation.questions import read_questions
    from pipelines.training.evaluation.runner import evaluate

    settings = load_settings(data_dir=data_dir, embedding_backend=backend, summaries=True, llm_answers=False)
    rss_start = rss_mib()
    bundle = open_store(settings)
    pipeline = build_query_pipeline(settings, bundle)
    pipeline.warm_up()
    pipeline.run(query_inputs(pipeline, "warm up the caches"))
    rss_loaded = rss_mib()
    answerer = pipeline.get_component("answerer")
    questions = read_questions(questions_path)
    questions = questions[:max_questions] if max_questions > 0 else questions
    runs: dict[str, dict] = {}
    for name, stored in (("stored_vectors", True), ("embedding_per_question", False)):
        answerer.use_stored_vectors = stored
        latencies, answers = [], []
        for item in questions:
            started = time.perf_counter()
            output = pipeline.run(query_inputs(pipeline, item.question), include_outputs_from={"answerer"})
            latencies.append(time.perf_counter() - started)
            answer = output["answerer"]["answer"]
            answers.append((answer.grounded, [(c.video_id, c.start_s, c.quote) for c in answer.citations]))
        runs[name] = {"p50_ms": percentile(latencies, 0.5), "p95_ms": percentile(latencies, 0.95), "answers": answers}
    same = sum(a == b for a, b in zip(runs["stored_vectors"].pop("answers"), runs["embedding_per_question"].pop("answers"), strict=True))
    quality = evaluate(settings, bundle, questions, name=backend).summary.to_dict()
    return {
        "backend": backend,
        "questions": len(questions),
        "offline_answer": runs,
        "p95_ratio_stored_vs_per_question": round(
            runs["stored_vectors"]["p95_ms"] / max(runs["embedding_per_question"]["p95_ms"], 1e-9), 3
        ),
        "identical_answers": same,
        "sentences_embedded_per_question_mode": answerer.embedded_on_the_fly,
        "rss_mib_interpreter": rss_start,
        "rss_mib_store_and_vectors_loaded": rss_loaded,
        "rss_mib_after_questions": rss_mib(),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "quality": {k: quality.get(k) for k in ("hit@1", "hit@3", "cited_first", "cited_expected", "window_hit", "p50_ms", "p95_ms")},
    }


def child(args: argparse.Namespace, phase: str, backend: str, data_dir: Path, method: str = "separate") -> dict:
    """Run one phase for one backend and method in a fresh interpreter (its own RSS and caches)."""
    command = [sys.executable, __file__, "--child", phase, "--backend", backend, "--data", str(data_dir), "--sentence-vectors", method]
    command += ["--corpus", str(args.corpus), "--limit", str(args.limit), "--questions", str(args.questions)]
    command += ["--max-questions", str(args.max_questions)] + (["--profile"] if args.profile else [])
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> int:
    """Ingest and serve with every backend and write the JSON report."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=REPO.parent / "shared" / "corpus")
    parser.add_argument("--questions", type=Path, default=REPO / "tests" / "data" / "dev_questions.jsonl")
    parser.add_argument("--limit", type=int, default=0, help="first N videos per corpus folder (0: all)")
    parser.add_argument("--backends", default="torch,onnx,onnx-int8")
    parser.add_argument("--sentence-vectors", default="separate", help="comma-separated methods: separate (the default), late")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--max-questions", type=int, default=0, help="first N dev questions (0: all)")
    parser.add_argument("--skip-serve", action="store_true")
    parser.add_argument("--work", type=Path, default=Path("/tmp/course-ta-serving-bench"))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "serving.json")
    parser.add_argument("--child", choices=("ingest", "serve"), help=argparse.SUPPRESS)
    parser.add_argument("--backend", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "ingest":
        folders = subset_corpus(args.corpus, args.limit, args.data.parent / "corpus-subset")
        print(json.dumps(ingest_child(args.backend, args.data, folders, args.profile, args.sentence_vectors)))
        return 0
    if args.child == "serve":
        print(json.dumps(serve_child(args.backend, args.data, args.questions, args.max_questions)))
        return 0
    if not args.corpus.is_dir():
        parser.error(f"no corpus at {args.corpus}")
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    methods = [m.strip() for m in args.sentence_vectors.split(",") if m.strip()]
    result: dict = {"corpus_folders": list(FOLDERS), "limit": args.limit, "cpus": os.cpu_count(), "backends": {}}
    for backend in backends:
        for method in methods:
            name = backend if method == "separate" else f"{backend}+{method}"
            data_dir = args.work / name / "data"
            shutil.rmtree(data_dir, ignore_errors=True)
            entry = {"ingest": child(args, "ingest", backend, data_dir, method)}
            if not args.skip_serve:
                entry["serve"] = child(args, "serve", backend, data_dir, method)
            result["backends"][name] = entry
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(result, indent=2) + "\n")
    for name, entry in result["backends"].items():
        if name.endswith("+late") and name.split("+")[0] in result["backends"]:
            separate = result["backends"][name.split("+")[0]]
            entry["vs_separate"] = {
                "full_ingest_speedup": round(separate["ingest"]["full_ingest_s"] / max(entry["ingest"]["full_ingest_s"], 1e-9), 2),
                "full_ingest_cpu_speedup": round(
                    separate["ingest"]["full_ingest_cpu_s"] / max(entry["ingest"]["full_ingest_cpu_s"], 1e-9), 2
                ),
            }
            if "serve" in entry and "serve" in separate:
                entry["vs_separate"].update(
                    {
                        f"{k}_points": round(100 * ((entry["serve"]["quality"][k] or 0) - (separate["serve"]["quality"][k] or 0)), 2)
                        for k in ("hit@1", "hit@3", "cited_first", "cited_expected", "window_hit")
                    }
                )
    base = result["backends"].get("torch")
    for backend, entry in result["backends"].items():
        if base and backend != "torch" and "+" not in backend:
            entry["vs_torch"] = {
                "bare_chunk_embedding_speedup": round(
                    base["ingest"]["bare_chunk_embedding_s"] / max(entry["ingest"]["bare_chunk_embedding_s"], 1e-9), 2
                ),
                "full_ingest_speedup": round(base["ingest"]["full_ingest_s"] / max(entry["ingest"]["full_ingest_s"], 1e-9), 2),
            }
            if "serve" in entry and "serve" in base:
                entry["vs_torch"].update(
                    {
                        f"{k}_points": round(100 * ((entry["serve"]["quality"][k] or 0) - (base["serve"]["quality"][k] or 0)), 2)
                        for k in ("hit@1", "hit@3", "window_hit")
                    }
                )
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {k: {p: {x: y for x, y in v.items() if x != "profile"} for p, v in e.items()} for k, e in result["backends"].items()}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
