"""``course-ta eval --questions FILE.jsonl``: retrieval quality of the indexed course, per question and overall.

Runs every question through the real query pipeline (the one ``course-ta ask`` uses), prints a
table, and with ``--json``/``--plot`` writes the full report and a hit@k chart. ``--compare``
evaluates several configurations (retrieval modes, with/without the rerank stage) in one run so
their numbers share the same index, questions and machine load. ``--calibrate`` picks the
"not covered" threshold from the same answers and saves it under the data dir.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from bot.cli.eval_answers import add_answer_arguments, run_answers
from pipelines.search.calibration import MAX_FALSE_DECLINES, calibrate, effective_min_relevance
from pipelines.search.query import RetrievalMode
from pipelines.settings import load_settings
from pipelines.stores.document_store import open_store
from pipelines.training.evaluation.questions import QuestionFileError, read_questions
from pipelines.training.evaluation.report import plot_hits, question_table, summary_table, write_json
from pipelines.training.evaluation.runner import evaluate

# Each configuration and the retrieval mode it runs; "rerank" is hybrid retrieval plus the cross-encoder stage.
MODES: dict[str, RetrievalMode] = {"bm25": "bm25", "dense": "dense", "hybrid": "hybrid", "rerank": "hybrid"}
CONFIGURATIONS = tuple(MODES)


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta eval`` and its options to the command line."""
    parser = subcommands.add_parser("eval", help="evaluate search and answers on a dev question file")
    parser.add_argument("--questions", type=Path, help='JSONL: {"question", "video_id", "start_s", "end_s"} per line')
    parser.add_argument(
        "--compare", default="hybrid", help=f"comma-separated configurations from {', '.join(CONFIGURATIONS)} (default hybrid)"
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the full report (per question and overall) here")
    parser.add_argument("--plot", type=Path, metavar="FILE.png", help="write a hit@k bar chart per configuration")
    parser.add_argument("--per-question", action="store_true", help="print one line per question too")
    parser.add_argument("--calibrate", action="store_true", help="choose min_relevance from these answers and save it")
    parser.add_argument(
        "--max-false-declines",
        type=float,
        default=MAX_FALSE_DECLINES,
        help=f"with --calibrate: most answerable questions a threshold may decline (default {MAX_FALSE_DECLINES})",
    )
    add_answer_arguments(parser)
    parser.set_defaults(handler=run)


def _progress(name: str) -> Callable[[int, int], None]:
    """A line on stderr every 25 questions and at the end, so a long evaluation is never silent."""

    def report(done: int, total: int) -> None:
        if done % 25 == 0 or done == total:
            print(f"  {name}: {done}/{total} questions", file=sys.stderr, flush=True)

    return report


def run(args: argparse.Namespace) -> int:
    """Evaluate each ``--compare`` configuration (or ``--answers``) and print the table; exit 2 on bad arguments, a bad file or an empty index."""
    if args.answers is not None:
        return run_answers(args)
    if args.questions is None:
        print("course-ta eval: give --questions FILE (search) or --answers FILE (answer models)", file=sys.stderr)
        return 2
    names = [n.strip() for n in args.compare.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGURATIONS]
    if unknown or not names:
        print(
            f"course-ta eval: unknown configuration(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(CONFIGURATIONS)}",
            file=sys.stderr,
        )
        return 2
    if not 0 <= args.max_false_declines <= 1:
        print(f"course-ta eval: --max-false-declines must be between 0 and 1, got {args.max_false_declines}", file=sys.stderr)
        return 2
    try:
        questions = read_questions(args.questions)
    except QuestionFileError as error:
        print(f"course-ta eval: {error}", file=sys.stderr)
        return 2
    settings = load_settings()
    if "rerank" in names and not settings.reranker_model:
        print("course-ta eval: 'rerank' needs COURSE_TA_RERANKER_MODEL (a local cross-encoder directory)", file=sys.stderr)
        return 2
    bundle = open_store(settings)
    if bundle.store.count_documents() == 0:
        print("course-ta eval: nothing is indexed; run `course-ta ingest PATH` first", file=sys.stderr)
        return 2
    indexed = {str(d.meta.get("video_id")) for d in bundle.store.filter_documents()}
    missing = sorted({q.video_id for q in questions if q.video_id and q.video_id not in indexed})
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        print(
            f"warning: {len(missing)} expected video(s) are not in the index ({shown}); their questions count as misses and false declines",
            file=sys.stderr,
        )
    runs = []
    for name in names:
        configured = settings if name == "rerank" else settings.model_copy(update={"reranker_model": ""})
        print(f"evaluating {name} on {len(questions)} questions...", file=sys.stderr)
        runs.append(evaluate(configured, bundle, questions, name=name, mode=MODES[name], progress=_progress(name)))
    for run_ in runs:
        if args.per_question:
            print(f"\n{run_.name}:\n{question_table(run_)}")
    print()
    print(summary_table(runs))
    print(f"\nthreshold min_relevance={effective_min_relevance(settings)}; model {settings.embedding_model}")
    extra: dict = {"questions_file": str(args.questions)}
    if args.calibrate:
        chosen = calibrate(runs[-1].results, settings.embedding_model, args.max_false_declines)
        path = chosen.save(settings.data_dir)
        extra["calibration"] = chosen.__dict__
        print(
            f"calibrated on {runs[-1].name}: min_relevance={chosen.min_relevance} (balanced accuracy {chosen.balanced_accuracy}: "
            f"keeps {chosen.kept_answerable:.0%} of answerable, declines {chosen.declined_unanswerable:.0%} of unanswerable); "
            f"saved to {path}; answers with this model use it unless COURSE_TA_MIN_RELEVANCE is set"
        )
    if args.json:
        write_json(runs, args.json, extra)
        print(f"report: {args.json}")
    if args.plot:
        plot_hits(runs, args.plot)
        print(f"plot: {args.plot}")
    return 0
