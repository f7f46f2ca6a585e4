"""Ten courses against one course of the same total size: serving RSS and answer latency, in one run.

The shared corpus (../shared/corpus) is split into ``--courses`` courses of about the same size
(videos dealt round-robin in manifest order, so each course mixes lectures). Each course is
ingested into its own data dir, exactly as a multi-course deployment does; the one-course baseline
holds the very same documents (copied from the course indexes, so nothing is embedded twice).
Then, each in a fresh process so its RSS is its own:
- ``single``: one AnswerService over the whole index answers the dev questions;
- ``courses``: a CourseDesk with every course's service warmed up answers the same questions, each
  routed to the course that holds its expected lecture (unanswerable ones to a course in turn).
Reports p50/p95 answer latency and peak RSS for both, the ratios, and how often the cited lecture
is the expected one (a course can only cite its own lectures, so hit@1 may differ).

    python benchmarks/courses_bench.py --work /tmp/courses-bench [--courses 10] [--questions 120] [--out FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
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

CORPUS = REPO.parent / "shared" / "corpus"
FOLDERS = ("hf-course", "3b1b", "karpathy-zero-to-hero")


def corpus_videos() -> list[tuple[str, Path]]:
    """(video id, transcript file) for every video of the shared corpus, in manifest order."""
    videos = []
    for folder in FOLDERS:
        with (CORPUS / folder / "manifest.csv").open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                path = CORPUS / folder / f"{row['video_id']}.srt"
                if path.exists():
                    videos.append((row["video_id"], path))
    return videos


def build(work: Path, courses: int, limit: int | None = None) -> dict:
    """Ingest each course into its own data dir; write the baseline store from the same documents."""
    from haystack.document_stores.types import DuplicatePolicy

    from pipelines.courses.catalog import Course, CourseCatalog, save_catalog
    from pipelines.courses.course_settings import settings_for
    from pipelines.freshness.ingest import Ingestor
    from pipelines.settings import load_settings
    from pipelines.stores.document_store import open_store

    videos = corpus_videos()[:limit]
    groups: list[list[tuple[str, Path]]] = [videos[i::courses] for i in range(courses)]
    data = work / "deployment"
    catalog = CourseCatalog(courses=[Course(id=f"c{i:02d}", title=f"Course {i}") for i in range(courses)], path=data / "courses.toml")
    base = load_settings(data_dir=data, deployment=True)
    started = time.perf_counter()
    membership = {}
    for course, group in zip(catalog.courses, groups, strict=True):
        folder = work / "lectures" / course.id
        folder.mkdir(parents=True, exist_ok=True)
        for video_id, path in group:
            shutil.copy(path, folder / f"{video_id}.srt")
            membership[video_id] = course.id
        Ingestor(settings_for(base, course)).ingest([folder])
        print(f"  {course.id}: {len(group)} videos", file=sys.stderr, flush=True)
    save_catalog(catalog, data / "courses.toml")
    single = load_settings(data_dir=work / "single", deployment=True)
    target = open_store(single)
    for course in catalog.courses:
        store = open_store(settings_for(base, course)).store
        store.filter_documents()  # loads the saved index; its documents with their vectors are in ``storage``
        documents = list(store.storage.values())
        target.store.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
    if hasattr(target.store, "save"):
        target.store.save()
    (work / "membership.json").write_text(json.dumps(membership))
    return {"videos": len(videos), "courses": courses, "build_s": round(time.perf_counter() - started, 1)}


def split_index(work: Path, courses: int, index: Path) -> dict:
    """Split an already built index (``--from-index DATA_DIR``) into course stores by video, round-robin, nothing re-embedded.

    The documents (chunks, summaries, vectors) are exactly those an ingest of each course's videos
    writes, so this measures the same serving setup in minutes instead of a second full ingest.
    """
    from haystack.document_stores.types import DuplicatePolicy

    from pipelines.courses.catalog import Course, CourseCatalog, save_catalog
    from pipelines.courses.course_settings import settings_for
    from pipelines.settings import load_settings
    from pipelines.stores.document_store import open_store

    started = time.perf_counter()
    source = open_store(load_settings(data_dir=index, deployment=True)).store
    source.filter_documents()  # loads the saved index; its documents with their vectors are in ``storage``
    documents = list(source.storage.values())
    videos = sorted({str(d.meta.get("video_id")) for d in documents})
    membership = {video: f"c{i % courses:02d}" for i, video in enumerate(videos)}
    data = work / "deployment"
    catalog = CourseCatalog(courses=[Course(id=f"c{i:02d}", title=f"Course {i}") for i in range(courses)], path=data / "courses.toml")
    base = load_settings(data_dir=data, deployment=True)
    for course in catalog.courses:
        target = open_store(settings_for(base, course)).store
        target.write_documents(
            [d for d in documents if membership[str(d.meta.get("video_id"))] == course.id], policy=DuplicatePolicy.OVERWRITE
        )
        target.save()
    save_catalog(catalog, data / "courses.toml")
    single = open_store(load_settings(data_dir=work / "single", deployment=True)).store
    single.write_documents(documents, policy=DuplicatePolicy.OVERWRITE)
    single.save()
    (work / "membership.json").write_text(json.dumps(membership))
    return {
        "videos": len(videos),
        "documents": len(documents),
        "courses": courses,
        "split_from": str(index),
        "build_s": round(time.perf_counter() - started, 1),
    }


def questions(limit: int) -> list[dict]:
    """The dev questions (answerable and not), first ``limit``."""
    with (REPO / "tests" / "data" / "dev_questions.jsonl").open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return rows[:limit]


def serve(work: Path, mode: str, limit: int) -> dict:
    """Answer the questions in this process (``single`` or ``courses``); latency percentiles and peak RSS."""
    import numpy as np
    import psutil

    from bot.answering.course_desk import CourseDesk
    from bot.answering.service import AnswerService
    from pipelines.courses.catalog import load_catalog
    from pipelines.settings import load_settings

    membership: dict[str, str] = json.loads((work / "membership.json").read_text())
    rows = questions(limit)
    if mode == "single":
        service = AnswerService(load_settings(data_dir=work / "single", deployment=True))
        service.warm_up()

        def pick(row: dict, index: int) -> AnswerService:
            return service
    else:
        base = load_settings(data_dir=work / "deployment", deployment=True)
        catalog = load_catalog(work / "deployment" / "courses.toml")
        desk = CourseDesk(base, catalog)
        for course in catalog.courses:
            desk.service(course).warm_up()

        def pick(row: dict, index: int) -> AnswerService:
            course_id = membership.get(row.get("video_id") or "", catalog.courses[index % len(catalog.courses)].id)
            return desk.service(catalog.get(course_id))

    latencies, hits, answerable = [], 0, 0
    for index, row in enumerate(rows):
        service = pick(row, index)
        started = time.perf_counter()
        answer = service.answer(row["question"])
        latencies.append(time.perf_counter() - started)
        if row.get("video_id"):
            answerable += 1
            hits += bool(answer.citations) and answer.citations[0].video_id == row["video_id"]
    values = np.array(latencies) * 1000
    return {
        "questions": len(rows),
        "answer_p50_ms": round(float(np.percentile(values, 50)), 1),
        "answer_p95_ms": round(float(np.percentile(values, 95)), 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_after_answers_mib": round(psutil.Process().memory_info().rss / 2**20, 1),
        "cited_first": round(hits / answerable, 3) if answerable else None,
    }


def main() -> None:
    """Build (unless present), measure both modes in fresh processes, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=Path("/tmp/course-ta-courses-bench"))
    parser.add_argument("--courses", type=int, default=10)
    parser.add_argument("--questions", type=int, default=120)
    parser.add_argument("--videos", type=int, help="only the first N videos (a quick check); default all")
    parser.add_argument("--from-index", type=Path, help="split this already indexed data dir into the courses instead of ingesting")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "courses_bench.json")
    parser.add_argument("--serve", choices=("single", "courses"), help=argparse.SUPPRESS)  # the measuring child process
    args = parser.parse_args()
    if args.serve:
        print(json.dumps(serve(args.work, args.serve, args.questions)))
        return
    if not (CORPUS / "hf-course" / "manifest.csv").exists():
        sys.exit("../shared/corpus is not present")
    built = {"reused": True}
    if not (args.work / "membership.json").exists():
        built = split_index(args.work, args.courses, args.from_index) if args.from_index else build(args.work, args.courses, args.videos)
    results = {}
    for mode in ("single", "courses"):
        output = subprocess.run(
            [sys.executable, __file__, "--work", str(args.work), "--questions", str(args.questions), "--serve", mode],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[mode] = json.loads(output.strip().splitlines()[-1])
        print(f"{mode}: {results[mode]}", file=sys.stderr, flush=True)
    report = {
        "benchmark": "courses",
        "build": built,
        **results,
        "ratio_rss_courses_vs_single": round(results["courses"]["peak_rss_mib"] / results["single"]["peak_rss_mib"], 3),
        "ratio_rss_after_courses_vs_single": round(
            results["courses"]["rss_after_answers_mib"] / results["single"]["rss_after_answers_mib"], 3
        ),
        "ratio_p95_courses_vs_single": round(results["courses"]["answer_p95_ms"] / results["single"]["answer_p95_ms"], 3),
        "machine": {"cpus": os.cpu_count(), "load_at_end": os.getloadavg()[0]},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
