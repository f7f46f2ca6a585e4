"""A sync pass over the shared corpus (241 videos as a local source) with nothing changed.

First brings a fresh data dir up to date (a full pass: embeds every chunk; reported, not the
target), then times (a) ``SyncRunner.sync_once()`` again with nothing changed, (b) ``course-ta
ingest``'s path (``Ingestor.ingest``, the same engine) over the same folders, and (c) the baseline
measured in the same run: re-reading and re-chunking every transcript and comparing document ids
with the store, which is how ingest found out that nothing changed before it became a sync.
Writes benchmarks/results/sync.json. Target: the unchanged sync pass < 30 s.

    .venv/bin/python benchmarks/sync_bench.py [--corpus ../shared/corpus] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

from pipelines.corpus.chunking import chunk_documents  # noqa: E402
from pipelines.corpus.discovery import Findings, describe_video, discover, load_manifests, read_best_transcript  # noqa: E402
from pipelines.corpus.sentences import segments_to_sentences  # noqa: E402
from pipelines.freshness.engine import SyncRunner  # noqa: E402
from pipelines.freshness.ingest import Ingestor  # noqa: E402
from pipelines.freshness.ledger import Ledger  # noqa: E402
from pipelines.settings import Settings, load_settings  # noqa: E402
from pipelines.stores.document_store import open_store  # noqa: E402


def reread_everything(settings: Settings, folders: list[Path]) -> int:
    """The baseline: read, split and chunk every transcript, then compare ids with the store; returns unchanged videos."""
    findings = Findings()
    videos = discover(folders, findings)
    manifests = load_manifests(videos, None, findings)
    stored = open_store(settings).ids_by_video()
    unchanged = 0
    for files in videos.values():
        if not files.transcripts:
            continue
        _, transcript, _ = read_best_transcript(files.transcripts)
        documents = chunk_documents(
            describe_video(files, manifests, None, findings),
            segments_to_sentences(transcript.segments),
            chunk_words=settings.chunk_words,
            overlap_words=settings.chunk_overlap_words,
            embedding_model=settings.embedding_model,
        )
        unchanged += {d.id for d in documents} <= stored.get(files.video_id, set())
    return unchanged


def main() -> None:
    """Run the three timings and write the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=HERE.parent.parent / "shared" / "corpus")
    parser.add_argument("--data-dir", type=Path, help="reuse a data dir (skips the full first pass if already synced)")
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"corpus not found at {args.corpus}")
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="course-ta-sync-bench-"))
    settings = load_settings(data_dir=data_dir)
    ledger = Ledger.open(settings)
    folders = sorted(p for p in args.corpus.iterdir() if p.is_dir())
    for folder in folders:
        ledger.add_source("local", str(folder.resolve()))

    started = time.perf_counter()
    first = SyncRunner(settings, ledger=ledger).sync_once()
    first_s = time.perf_counter() - started
    print(f"first pass: {first_s:.1f}s, {first.count('indexed')} indexed", flush=True)

    started = time.perf_counter()
    unchanged = SyncRunner(settings, ledger=ledger).sync_once()
    unchanged_s = time.perf_counter() - started

    started = time.perf_counter()
    ingest = Ingestor(settings).ingest(folders)
    ingest_s = time.perf_counter() - started

    started = time.perf_counter()
    baseline_unchanged = reread_everything(settings, folders)
    baseline_s = time.perf_counter() - started

    output = {
        "benchmark": "sync_unchanged",
        "videos": unchanged.listed,
        "first_pass_seconds": round(first_s, 2),
        "first_pass_indexed": first.count("indexed"),
        "unchanged_pass_seconds": round(unchanged_s, 3),
        "unchanged_pass_work": {s: unchanged.count(s) for s in ("unchanged", "indexed", "failed", "waiting")},
        "ingest_unchanged_seconds": round(ingest_s, 3),
        "ingest_unchanged": ingest.count("unchanged"),
        "baseline": "re-read and re-chunk every transcript, compare ids with the store (ingest before it became a sync), same run",
        "baseline_seconds": round(baseline_s, 2),
        "baseline_unchanged": baseline_unchanged,
        "speedup_vs_baseline": round(baseline_s / unchanged_s, 1) if unchanged_s else None,
        "target_seconds": 30.0,
        "data_dir": str(data_dir),
    }
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    (results / "sync.json").write_text(json.dumps(output, indent=2))
    print(json.dumps(output, indent=2))


if __name__ == "__main__":
    main()
