"""``course-ta``: the command line. Each subcommand lives in its own module under ``bot/cli``.

Every command loads the validated settings first, so a bad ``COURSE_TA_*`` value is one clear line
on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from pipelines.settings import SettingsError
from pipelines.stores.errors import StoreError


def _quiet_libraries() -> None:
    """Offline by default and no progress bars or telemetry from the libraries underneath."""
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


def build_parser() -> argparse.ArgumentParser:
    """The ``course-ta`` parser with every subcommand registered; each sets ``handler``."""
    from bot.cli import ask, demo, ingest, status

    parser = argparse.ArgumentParser(prog="course-ta", description="A teaching assistant for a video course.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens underneath")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    ingest.register(subcommands)
    ask.register(subcommands)
    status.register(subcommands)
    demo.register(subcommands)
    # --- commands of later features register here, one line each ---
    from bot.cli import add_source, schedule, sync, transcribe  # freshness: sources, sync, schedule, transcription

    add_source.register(subcommands)
    sync.register(subcommands)
    schedule.register(subcommands)
    transcribe.register(subcommands)
    from bot.cli import say, voice_clone  # voice: spoken answers, voice cloning

    say.register(subcommands)
    voice_clone.register(subcommands)
    from bot.cli import feedback, serve  # slack: the bot server and feedback

    serve.register(subcommands)
    feedback.register(subcommands)
    from bot.cli import discord_cmd  # discord: the bot

    discord_cmd.register(subcommands)
    from bot.cli import doctor, es, migrate  # production: health checks, Elasticsearch migration and administration

    doctor.register(subcommands)
    migrate.register(subcommands)
    es.register(subcommands)
    from bot.cli import eval as eval_cmd  # search quality: evaluation, triplet mining, fine-tuning
    from bot.cli import finetune, models, triplets

    eval_cmd.register(subcommands)
    triplets.register(subcommands)
    finetune.register(subcommands)
    models.register(subcommands)
    from bot.cli import summary  # llm: per-video summaries

    summary.register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code: 2 for invalid settings or an unusable index, 130 when interrupted, 141 when the reader left."""
    _quiet_libraries()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handling below, not at interpreter exit
        return code
    except (SettingsError, StoreError) as error:
        print(f"course-ta: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("course-ta: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (`| head`) closed the pipe: stop quietly, and keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
