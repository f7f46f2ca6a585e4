"""``course-ta llm-data -o FILE.jsonl``: supervised examples for fine-tuning the answer LLM, from the indexed course.

Each line is the exact prompt the answerer sends at serving time (question + numbered passages from
the real query pipeline) and the reply to learn: an answer citing passage numbers, or the "not
covered" reply when the passages do not answer. Targets come from the configured LLM
(``COURSE_TA_LLM_*``, kept only when they pass the citation check) unless ``--offline``, else from the
offline extractive answer. Lectures of ``--held-out`` questions and a ``--held-out-share`` of the
rest (by hash of video id) give only ``heldout`` examples, for ``course-ta eval --answers``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store
from pipelines.training.evaluation.questions import QuestionFileError


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta llm-data`` and its options to the command line."""
    parser = subcommands.add_parser("llm-data", help="build supervised examples for fine-tuning the answer LLM")
    parser.add_argument("-o", "--output", required=True, type=Path, help="JSONL file to write")
    parser.add_argument("--max-examples", type=int, default=400, help="examples to build, all splits together (default 400)")
    parser.add_argument("--unanswerable-share", type=float, default=0.3, help="about this share are unanswerable (default 0.3)")
    parser.add_argument("--held-out", type=Path, help="dev question file: its lectures are held out (never trained on)")
    parser.add_argument("--held-out-share", type=float, default=0.2, help="share of lectures held out by hash of video id (default 0.2)")
    parser.add_argument("--offline", action="store_true", help="never call the configured LLM (no paraphrases, extractive targets)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Build and write the examples, then print their counts; exit 1 when none could be built, 2 on bad input or an empty index."""
    from pipelines.llm.client import LLMClient, llm_configured
    from pipelines.llm.tuning.examples import build_examples, write_examples
    from pipelines.training.triplets import held_out_videos
    from pipelines.training.triplets.split import stored_chunks

    if args.max_examples < 1 or not 0 <= args.unanswerable_share < 1 or not 0 <= args.held_out_share < 1:
        print("course-ta llm-data: --max-examples >= 1, --unanswerable-share and --held-out-share in [0, 1)", file=sys.stderr)
        return 2
    try:
        held_out = held_out_videos(args.held_out)
    except QuestionFileError as error:
        print(f"course-ta llm-data: {error}", file=sys.stderr)
        return 2
    settings = load_settings()
    bundle = open_store(settings)
    if not stored_chunks(bundle):
        print("course-ta llm-data: nothing is indexed; run `course-ta ingest PATH` first", file=sys.stderr)
        return 2
    teacher = paraphraser = None
    if not args.offline and llm_configured(settings):
        from pipelines.training.triplets.anchors import LLMParaphraser

        teacher = LLMClient(settings, budget=False)
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
        paraphraser = LLMParaphraser(settings.llm_base_url, settings.llm_model, key, settings.llm_timeout_s)
        print(f"targets and paraphrases from {settings.llm_model}; extractive targets where its reply fails the check", file=sys.stderr)

    def progress(done: int, total: int) -> None:
        if done and done % 25 == 0:
            print(f"  {done}/{total} examples", file=sys.stderr, flush=True)

    report = build_examples(
        settings,
        bundle,
        held_out_share=args.held_out_share,
        held_out=held_out,
        max_examples=args.max_examples,
        unanswerable_share=args.unanswerable_share,
        seed=args.seed,
        paraphraser=paraphraser,
        teacher=teacher,
        progress=progress,
    )
    if not report.examples:
        print(f"course-ta llm-data: no examples could be built (skipped: {report.skipped})", file=sys.stderr)
        return 1
    write_examples(report.examples, args.output)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(report.counts().items()))
    print(f"wrote {len(report.examples)} examples to {args.output} ({counts}); held-out lectures: {', '.join(report.held_out_videos)}")
    if report.skipped:
        print(f"skipped: {report.skipped}", file=sys.stderr)
    return 0
