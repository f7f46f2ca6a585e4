"""``course-ta console``: run the instructor console, or set up who may log in to it."""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import sys

from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``console`` to the CLI."""
    parser = subcommands.add_parser("console", help="run the instructor console (web pages over the answer log, corpus and escalations)")
    parser.add_argument("--host", help="interface to listen on (default COURSE_TA_CONSOLE_HOST, 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default COURSE_TA_CONSOLE_PORT, 8765; 0 picks a free one)")
    parser.add_argument(
        "--create-admin", action="store_true", help="print a one-time token (valid 24 h) to create an instructor account, then exit"
    )
    parser.add_argument(
        "--add-instructor", metavar="NAME", help="create an instructor account (or reset its password), asking for the password"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; ``--create-admin`` / ``--add-instructor`` only set up accounts."""
    from bot.console.accounts import AccountError, Accounts
    from bot.console.app import console_dir

    settings = load_settings(deployment=True)  # the answer log and console are the deployment's, shared by its courses
    accounts = Accounts(console_dir(settings) / "console.sqlite")
    if args.create_admin:
        token = accounts.create_token()
        print(f"One-time token (valid 24 hours, works once): {token}")
        print("Open the console, choose 'First sign-in with a one-time token' and enter it with a user name and password.")
        return 0
    if args.add_instructor:
        password = getpass.getpass(f"Password for {args.add_instructor}: ")
        if password != getpass.getpass("Repeat it: "):
            print("course-ta console: the passwords differ", file=sys.stderr)
            return 2
        try:
            accounts.add(args.add_instructor, password)
        except AccountError as error:
            print(f"course-ta console: {error}", file=sys.stderr)
            return 2
        print(f"Instructor {args.add_instructor!r} can log in.")
        return 0
    from bot.console.server import console_url, make_console_server

    server = make_console_server(settings, args.host, args.port)
    print(f"course-ta: instructor console at {console_url(server)}", file=sys.stderr, flush=True)
    host = str(server.server_address[0])
    if settings.console_trusted_proxies and not _loopback(host):
        print(
            f"course-ta: warning: COURSE_TA_CONSOLE_TRUSTED_PROXIES={settings.console_trusted_proxies} while listening on {host}: "
            "anyone who reaches this port directly can forge X-Forwarded-For; listen on 127.0.0.1 behind the proxy",
            file=sys.stderr,
        )
    if accounts.count() == 0:
        print("course-ta: no instructor account yet; run `course-ta console --create-admin` for a one-time token", file=sys.stderr)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _loopback(host: str) -> bool:
    """Whether ``host`` (the address the server bound) is reachable only from this machine."""
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return host == "localhost"
