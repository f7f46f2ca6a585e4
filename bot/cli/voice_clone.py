"""``course-ta voice clone --name instructor CLIPS...``: register the instructor's voice everywhere it can be cloned."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta voice clone`` to the CLI."""
    parser = subcommands.add_parser("voice", help="manage the cloned course voice")
    actions = parser.add_subparsers(dest="voice_command", required=True, metavar="ACTION")
    clone = actions.add_parser("clone", help="validate reference clips and clone the voice (Tortoise worker, ElevenLabs)")
    clone.add_argument("clips", nargs="+", type=Path, help="3-60 s clips of the instructor speaking (WAV, MP3, FLAC, ...)")
    clone.add_argument("--name", default=None, help="voice name (default COURSE_TA_VOICE_NAME)")
    clone.add_argument("--convert", action="store_true", help="downmix stereo / resample odd rates instead of refusing")
    clone.set_defaults(handler=run_clone)


def run_clone(args: argparse.Namespace) -> int:
    """Clone the voice; exit 2 for an unusable clip. A backend that could not clone is listed, not an error."""
    from voice.cloning import clone_voice
    from voice.reference_clips import ReferenceClipError

    settings = load_settings(**({"voice_name": args.name} if args.name else {}))
    try:
        report = clone_voice(settings.voice_name, list(args.clips), settings, convert=args.convert)
    except ReferenceClipError as error:
        print(f"course-ta voice clone: {error}", file=sys.stderr)
        return 2
    print(
        f"voice {report.voice!r}: {report.clips} clips, {report.total_seconds:.1f} s of speech, stored under {settings.voice_dir / report.voice}"
    )
    for backend, outcome in report.backends.items():
        print(f"  {backend}: {outcome}")
    for backend, reason in report.failed.items():
        print(f"  {backend}: not cloned: {reason}")
    print("  piper: not a cloning backend (speaks with its own voice)")
    return 0
