"""``course-ta doctor [--online] [--json]``: what works, and the exact fix for what doesn't.

Exit code 1 when a check fails (the service could not do its job), 0 when everything passes or only
warns, 2 when the configuration itself is invalid (printed with the variable to fix).
"""

from __future__ import annotations

import argparse
import json
import sys

from pipelines.settings import SettingsError, load_settings

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL", "skip": "--  "}


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``doctor`` to the CLI."""
    parser = subcommands.add_parser("doctor", help="check configuration, models, tools and services; print fixes")
    parser.add_argument("--online", action="store_true", help="also contact Slack (auth.test, scopes)")
    parser.add_argument("--json", action="store_true", help="one JSON object: checks and whether any blocks")
    parser.add_argument("--skip-models", action="store_true", help="don't load the embedding model (faster)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print every check (text or ``--json``); the exit code says whether anything blocks."""
    from bot.doctor import run_checks

    try:
        settings = load_settings()
    except SettingsError as error:
        if args.json:
            print(
                json.dumps(
                    {
                        "ok": False,
                        "checks": [{"name": "settings", "status": "fail", "detail": str(error), "fix": "correct the variable named above"}],
                    }
                )
            )
        else:
            print(f"FAIL settings: {error}\n     fix: correct the variable named above (environment or .env)")
        return 2
    results = run_checks(settings, online=args.online, load_models=not args.skip_models)
    blocking = any(result.blocking for result in results)
    if args.json:
        print(json.dumps({"ok": not blocking, "checks": [r.to_dict() for r in results]}, indent=2))
    else:
        print(f"ok   settings: valid ({settings.describe_store()})")
        for result in results:
            print(f"{MARKS[result.status]} {result.name}: {result.detail}")
            if result.fix and result.status in ("fail", "warn"):
                print(f"     fix: {result.fix}")
        print("blocking problems found" if blocking else "no blocking problems", file=sys.stderr)
    return 1 if blocking else 0
