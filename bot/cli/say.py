"""``course-ta say "text" -o clip.ogg``: speak text through the voice chain, as the bots would."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.settings import load_settings

if TYPE_CHECKING:
    from voice.encoding import ClipFormat
    from voice.render import Clip


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta say`` to the CLI."""
    parser = subcommands.add_parser("say", help="speak text in the course voice and write a clip (.ogg Opus or .mp3)")
    parser.add_argument("text", help="what to say (markdown, links and citation markers are cleaned up); '-' reads stdin")
    parser.add_argument("-o", "--output", type=Path, required=True, help="clip file; the extension picks the format (.ogg or .mp3)")
    parser.add_argument("--backends", help="override COURSE_TA_VOICE_BACKENDS for this call, e.g. 'piper'")
    parser.add_argument("--json", action="store_true", help="print what happened as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the clip; exit 2 for an unusable or unwritable file name, 1 when no backend could speak, else 0.

    The output path is checked before any synthesis, so a typo in ``-o`` costs nothing; with ``--json``
    exactly one object is printed, with the same keys whether it worked or not.
    """
    from voice.render import render_clip

    suffix = args.output.suffix.lower().lstrip(".")
    formats: dict[str, ClipFormat] = {"ogg": "ogg", "opus": "ogg", "oga": "ogg", "mp3": "mp3"}
    fmt = formats.get(suffix)
    if fmt is None:
        return _fail(args, f"{args.output}: use a .ogg (Opus) or .mp3 file name", 2)
    problem = writable_problem(args.output)
    if problem:
        return _fail(args, problem, 2)
    overrides = {"voice_backends": args.backends} if args.backends else {}
    settings = load_settings(**overrides)
    text = sys.stdin.read() if args.text == "-" else args.text
    clip = render_clip(text, settings, formats=(fmt,))
    if not clip.ok:
        return _fail(args, clip.error or "no voice backend made any audio", 1, clip)
    try:
        args.output.write_bytes(clip.files[fmt])
    except OSError as error:  # the disk filled up or the folder vanished since the check
        return _fail(args, f"cannot write {args.output}: {error.strerror or error}", 2, clip)
    if args.json:
        print(json.dumps(_report(clip, None, str(args.output))))
    else:
        source = "cache" if clip.cached else f"{clip.seconds:.2f} s"
        print(f"{args.output}: {clip.duration_s:.1f} s, {clip.backend} ({clip.voice}), {source}")
        for attempt in clip.attempts:
            if attempt.outcome not in ("spoke", "cached"):
                print(f"  skipped {attempt.backend}: {attempt.reason}")
    return 0


def writable_problem(path: Path) -> str | None:
    """Why ``path`` cannot be written (``None`` when it can): its folder is made, the file opened without truncating it.

    Opening is the only test that holds for every cause (permissions, read-only mounts, a folder or a file
    in the way); a file this check creates is removed again, so a failed synthesis leaves nothing behind.
    """
    existed = path.exists()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab"):
            pass
    except OSError as error:
        return f"cannot write {path}: {error.strerror or error}"
    if not existed:
        path.unlink(missing_ok=True)
    return None


def _report(clip: Clip | None, error: str | None, output: str | None) -> dict[str, Any]:
    """The ``--json`` object: the same keys on success and on every failure."""
    return {
        "ok": error is None,
        "error": error,
        "backend": clip.backend if clip else None,
        "voice": clip.voice if clip else None,
        "duration_s": round(clip.duration_s, 3) if clip else None,
        "cached": clip.cached if clip else False,
        "truncated": clip.truncated if clip else False,
        "spoken_text": clip.text if clip else None,
        "output": output,
        "attempts": [{"backend": a.backend, "outcome": a.outcome, "reason": a.reason} for a in clip.attempts] if clip else [],
    }


def _fail(args: argparse.Namespace, message: str, code: int, clip: Clip | None = None) -> int:
    """One line on stderr and, with ``--json``, the error object on stdout; returns ``code``."""
    if args.json:
        print(json.dumps(_report(clip, message, None)))
    print(f"course-ta say: {message}", file=sys.stderr)
    return code
