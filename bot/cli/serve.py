"""``course-ta serve [all|slack|discord|scheduler]``: run the service or one chat front door alone.

``all`` and ``scheduler`` run the production service (bot/runtime/service_runner.py: health endpoint,
JSON logs, graceful SIGTERM). ``slack`` and ``discord`` run that front door alone in the foreground,
through its runner in ``TARGETS``. Models are loaded before connecting, so the first student never
waits for them. ``all`` also serves the instructor console (``bot/console``) on its own port unless
``--no-console``; ``console`` serves it alone.
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


def _serve_console(settings: Settings, args: argparse.Namespace) -> None:
    from bot.console.server import console_url, make_console_server

    server = make_console_server(settings)
    print(f"course-ta: instructor console at {console_url(server)}", file=sys.stderr, flush=True)
    server.serve_forever()


# One runner per front door that can be served alone.
TARGETS: dict[str, Runner] = {"slack": _serve_slack, "discord": _serve_discord, "console": _serve_console}


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``serve`` to the CLI."""
    parser = subcommands.add_parser("serve", help="run the chat bots (Slack; Discord when available)")
    parser.add_argument(
        "target",
        nargs="?",
        default="all",
        choices=("all", "slack", "discord", "scheduler", "console"),
        help="all (default): the scheduler, every bot with credentials and the instructor console, with /livez and /readyz; or one part alone",
    )
    parser.add_argument("--mode", choices=("socket", "http"), help="Slack: Socket Mode or HTTP Events API (default COURSE_TA_SLACK_MODE)")
    parser.add_argument("--port", type=int, help="Slack HTTP mode: port (default COURSE_TA_SLACK_HTTP_PORT)")
    parser.add_argument("--host", help="Slack HTTP mode: interface (default COURSE_TA_SLACK_HTTP_HOST)")
    parser.add_argument("--no-console", action="store_true", help="all: do not start the instructor console (COURSE_TA_CONSOLE_PORT)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run the service (``all``, ``scheduler``) or one front door until it is stopped; the exit code."""
    overrides = {}
    if getattr(args, "port", None) is not None:
        overrides["slack_http_port"] = args.port
    if getattr(args, "host", None):
        overrides["slack_http_host"] = args.host
    settings = load_settings(deployment=True, **overrides)
    if args.target in ("all", "scheduler"):  # production service: health endpoint, JSON logs, graceful SIGTERM
        from bot.runtime.service_runner import run_service

        if args.target == "all" and not getattr(args, "no_console", False):
            from bot.console.server import start_in_background

            start_in_background(settings)

        return run_service(settings.model_copy(update={"slack_mode": args.mode}) if args.mode else settings, args.target)
    TARGETS[args.target](settings, args)  # argparse's choices leave only the front doors here
    return 0
