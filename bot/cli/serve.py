"""``course-ta serve [all|slack|discord|scheduler]``: run the service or one chat front door alone.

``all`` and ``scheduler`` run the production service (bot/runtime/service_runner.py: health endpoint,
JSON logs, graceful SIGTERM). ``slack`` and ``discord`` run that front door alone in the foreground,
through its runner in ``TARGETS``. Models are loaded before connecting, so the first student never
waits for them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from pipelines.settings import Settings, load_settings

Runner = Callable[[Settings, argparse.Namespace], None]


def _serve_slack(settings: Settings, args: argparse.Namespace) -> None:
    from bot.answering.service import AnswerService
    from bot.slack.app import create_slack_bot, require_credentials
    from bot.slack.server import serve_http, serve_socket_mode

    mode = args.mode or settings.slack_mode
    require_credentials(settings, mode)  # fail before loading models
    service = AnswerService(settings)
    service.warm_up()
    bot = create_slack_bot(settings, service, mode=mode)
    print(f"course-ta: Slack {mode} mode, answering from {settings.describe_store()}", file=sys.stderr, flush=True)
    if mode == "http":
        serve_http(bot)
    else:
        serve_socket_mode(bot)


def _serve_discord(settings: Settings, args: argparse.Namespace) -> None:
    from bot.discord.serve import serve_discord

    serve_discord(settings)


# One runner per front door that can be served alone.
TARGETS: dict[str, Runner] = {"slack": _serve_slack, "discord": _serve_discord}


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the CLI."""
    parser = subcommands.add_parser("serve", help="run the chat bots (Slack; Discord when available)")
    parser.add_argument(
        "target",
        nargs="?",
        default="all",
        choices=("all", "slack", "discord", "scheduler"),
        help="all (default): the scheduler and every bot with credentials, with /livez and /readyz; or one front door alone",
    )
    parser.add_argument("--mode", choices=("socket", "http"), help="Slack: Socket Mode or HTTP Events API (default COURSE_TA_SLACK_MODE)")
    parser.add_argument("--port", type=int, help="Slack HTTP mode: port (default COURSE_TA_SLACK_HTTP_PORT)")
    parser.add_argument("--host", help="Slack HTTP mode: interface (default COURSE_TA_SLACK_HTTP_HOST)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the service (``all``, ``scheduler``) or one front door until it is stopped; the exit code."""
    overrides = {}
    if getattr(args, "port", None) is not None:
        overrides["slack_http_port"] = args.port
    if getattr(args, "host", None):
        overrides["slack_http_host"] = args.host
    settings = load_settings(**overrides)
    if args.target in ("all", "scheduler"):  # production service: health endpoint, JSON logs, graceful SIGTERM
        from bot.runtime.service_runner import run_service

        return run_service(settings.model_copy(update={"slack_mode": args.mode}) if args.mode else settings, args.target)
    TARGETS[args.target](settings, args)  # argparse's choices leave only the front doors here
    return 0
