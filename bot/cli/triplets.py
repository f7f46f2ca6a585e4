"""``course-ta triplets -o FILE.jsonl``: mine (anchor, positive, hard negative) triplets from the index.

Reads the indexed chunks and their vectors from the store (run ``course-ta ingest`` first), keeps
the videos of ``--held-out`` questions out entirely, and writes one triplet per line.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store
from pipelines.training.evaluation.questions import QuestionFileError
from pipelines.training.triplets import held_out_videos, mine_triplets, write_triplets
from pipelines.training.triplets.split import stored_chunks

DEFAULT_HELD_OUT = Path(__file__).resolve().parents[2] / "tests" / "data" / "dev_questions.jsonl"


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta triplets`` and its options to the command line."""
    parser = subcommands.add_parser("triplets", help="mine training triplets from the indexed lectures")
    parser.add_argument("-o", "--output", required=True, type=Path, help="JSONL file to write")
    parser.add_argument(
        "--held-out",
        type=Path,
        default=DEFAULT_HELD_OUT if DEFAULT_HELD_OUT.exists() else None,
        help="question file whose videos are never mined (default: the dev set in tests/data)",
    )
    parser.add_argument("--per-chunk", type=int, default=1, help="anchors per chunk (default 1)")
    parser.add_argument("--max-per-video", type=int, default=18, help="cap per video, so long lectures do not dominate (default 18)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--offline", action="store_true", help="use the deterministic anchor generator even when an LLM is configured")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Mine triplets from the index into ``--output``; exit 1 when none were mined, 2 on bad input or an empty index."""
    if args.per_chunk < 1 or args.max_per_video < 1:
        print("course-ta triplets: --per-chunk and --max-per-video must be at least 1", file=sys.stderr)
        return 2
    try:
        held_out = held_out_videos(args.held_out)
    except QuestionFileError as error:
        print(f"course-ta triplets: {error}", file=sys.stderr)
        return 2
    settings = load_settings()
    documents = stored_chunks(open_store(settings))
    if not documents:
        print("course-ta triplets: nothing is indexed; run `course-ta ingest PATH` first", file=sys.stderr)
        return 2
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(settings.embedding_model, local_files_only=True)

    def embed(texts: list[str]):
        return model.encode(texts, batch_size=settings.embedding_batch_size, normalize_embeddings=True, convert_to_numpy=True)

    paraphraser = None
    from pipelines.llm.client import llm_configured

    if not args.offline and llm_configured(settings):  # the app's LLM (COURSE_TA_LLM_*) paraphrases anchors
        from pipelines.training.triplets.anchors import LLMParaphraser

        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        paraphraser = LLMParaphraser(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout_s)
        print(f"anchors: paraphrased by {settings.llm_model}, offline generator as fallback", file=sys.stderr)
    report = mine_triplets(
        documents,
        embed,
        held_out=held_out,
        per_chunk=args.per_chunk,
        max_per_video=args.max_per_video,
        seed=args.seed,
        paraphraser=paraphraser,
    )
    write_triplets(report.triplets, args.output)
    print(
        f"{len(report.triplets)} triplets from {report.train_videos} videos -> {args.output} "
        f"({report.anchors} anchors; {report.no_negative} without a safe hard negative, {report.duplicates} duplicates dropped; "
        f"{len(report.held_out_videos)} held-out videos skipped)"
    )
    return 0 if report.triplets else 1
