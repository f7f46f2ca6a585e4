"""``course-ta eval --answers FILE``: base and tuned answer models on the held-out lectures of a ``course-ta llm-data`` file.

Each model is served by the local OpenAI-compatible server (``pipelines.llm.tuning.serving``) and asked
through the app's own LLM client, so the figures are those of the serving path. The offline extractive
answerer on the same passages is the baseline. Metrics: ``pipelines.training.evaluation.answers``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from pipelines.settings import load_settings


def add_answer_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--answers`` options of ``course-ta eval``."""
    group = parser.add_argument_group("answers (--answers)")
    group.add_argument(
        "--answers", type=Path, metavar="FILE", help="evaluate answer models on the held-out examples of this llm-data JSONL"
    )
    group.add_argument("--base", default="bundled", help="with --answers: base model (folder, .gguf or 'bundled'); 'none' to skip")
    group.add_argument("--tuned", type=Path, help="with --answers: the tuned adapter or merged folder from `finetune --llm`")
    group.add_argument("--limit", type=int, default=0, help="with --answers: at most this many held-out examples (0 = all)")
    group.add_argument(
        "--max-tokens", type=int, default=0, help="with --answers: reply length cap (default COURSE_TA_LLM_ANSWER_MAX_TOKENS)"
    )


def compare_answers(examples: list[Any], models: dict[str, Path], max_tokens: int, temperature: float = 0.0) -> list[dict[str, Any]]:
    """Every model (name → folder) served locally and scored on ``examples``, after the offline baseline."""
    from pipelines.llm.client import LLMClient
    from pipelines.llm.tuning.serving import ChatModel, OpenAIChatServer
    from pipelines.training.evaluation.answers import evaluate_answers, offline_summary

    results = [offline_summary(examples).to_dict()]
    for name, path in models.items():
        print(f"evaluating {name} ({path}) on {len(examples)} examples...", file=sys.stderr)
        with OpenAIChatServer(ChatModel(path, name)) as server:
            settings = load_settings(
                llm_base_url=server.base_url, llm_model=name, llm_timeout_s=3600, llm_max_retries=0, llm_temperature=temperature
            )
            client = LLMClient(settings, budget=False)

            def progress(done: int, total: int, name: str = name) -> None:
                if done % 10 == 0 or done == total:
                    print(f"  {name}: {done}/{total}", file=sys.stderr, flush=True)

            def ask(messages: list[dict[str, str]], client: LLMClient = client) -> Any:
                return client.chat(messages, stage="answer", max_tokens=max_tokens)

            summary = evaluate_answers(examples, name, ask, progress)
        results.append(summary.to_dict(with_replies=True))
    return results


def run_answers(args: argparse.Namespace) -> int:
    """Print a table of answer metrics per model (and write ``--json``); exit 2 on bad input."""
    from pipelines.llm.tuning.examples import HELD_OUT, read_examples
    from pipelines.llm.tuning.models import ModelSourceError, resolve_base

    try:
        examples = [e for e in read_examples(args.answers) if e.split == HELD_OUT]
    except ValueError as error:
        print(f"course-ta eval: {error}", file=sys.stderr)
        return 2
    if args.limit:
        examples = examples[: args.limit]
    if not examples:
        print(f"course-ta eval: {args.answers} has no held-out examples", file=sys.stderr)
        return 2
    settings = load_settings()
    models: dict[str, Path] = {}
    try:
        if args.base != "none":
            models["base"] = resolve_base(args.base, settings.data_dir / "models" / "base")
        if args.tuned is not None:
            models["tuned"] = resolve_base(args.tuned, settings.data_dir / "models" / "base")
    except ModelSourceError as error:
        print(f"course-ta eval: {error}", file=sys.stderr)
        return 2
    if not models:
        print("course-ta eval: --answers needs a model: --base and/or --tuned", file=sys.stderr)
        return 2
    results = compare_answers(examples, models, args.max_tokens or settings.llm_answer_max_tokens)
    print(answer_table(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"examples_file": str(args.answers), "models": results}, indent=2), encoding="utf-8")
        print(f"report: {args.json}")
    return 0


COLUMNS = ("valid_citations", "cites_gold", "decline_accuracy", "false_declines", "faithfulness", "answer_words", "tokens_per_s")


def answer_table(results: list[dict[str, Any]]) -> str:
    """One row per model, one column per metric (``-`` where it does not apply)."""
    header = f"{'model':<20}" + "".join(f"{c:>17}" for c in COLUMNS)
    rows = [header]
    for result in results:
        cells = "".join(f"{'-' if result.get(c) is None else result[c]:>17}" for c in COLUMNS)
        rows.append(f"{result['name']:<20}{cells}")
    return "\n".join(rows)
