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


def installed_version() -> str:
    """The installed package's version (``course-ta --version``); a source tree that was never installed says so."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("course-ta")
    except PackageNotFoundError:
        return "(not installed)"


def _store_error(error: BaseException) -> StoreError | None:
    """The :class:`StoreError` behind ``error``: Haystack wraps what a component raises in its own error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, StoreError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def build_parser() -> argparse.ArgumentParser:
    """The ``course-ta`` parser with every subcommand registered; each sets ``handler``."""
    from bot.cli import ask, demo, ingest, status

    parser = argparse.ArgumentParser(prog="course-ta", description="A teaching assistant for a video course.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens underneath")
    parser.add_argument("--version", action="version", version=f"%(prog)s {installed_version()}")
    parser.add_argument("--course", metavar="ID", help="the course to work on, in a deployment with a courses file")
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
    from bot.cli import console, privacy  # console: the instructor console, privacy

    console.register(subcommands)
    privacy.register(subcommands)
    from bot.cli import remove  # taking videos out of the index by hand

    remove.register(subcommands)
    from bot.cli import course  # several courses in one deployment

    course.register(subcommands)
    from bot.cli import llm_data  # llm fine-tuning: supervised examples for the answer model

    llm_data.register(subcommands)
    for name, command in subcommands.choices.items():  # `course-ta status --course nlp` works like `course-ta --course nlp status`
        if name != "course":
            command.add_argument("--course", metavar="ID", default=argparse.SUPPRESS, help="the course to work on (courses file)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command and return its exit code: 2 for invalid settings or an unusable index, 130 when interrupted, 141 when the reader left."""
    _quiet_libraries()
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:  # answered before the commands' heavy imports
        print(f"course-ta {installed_version()}")
        return 0
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:  # an unreachable cluster is explained in one line below, not by the transport's retry warnings
        logging.getLogger("elastic_transport").setLevel(logging.ERROR)
    previous_course = os.environ.get("COURSE_TA_COURSE")
    try:
        if args.course:  # every command's load_settings() then works on that course
            os.environ["COURSE_TA_COURSE"] = args.course
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
    except Exception as error:  # a store error arrives wrapped when a pipeline component raised it
        cause = _store_error(error)
        if cause is None:
            raise
        print(f"course-ta: {cause}", file=sys.stderr)
        return 2
    finally:
        if args.course:
            _restore("COURSE_TA_COURSE", previous_course)


def _restore(name: str, value: str | None) -> None:
    """Put an environment variable back as it was (``main`` runs in-process in tests and embedders)."""
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


if __name__ == "__main__":
    sys.exit(main())
