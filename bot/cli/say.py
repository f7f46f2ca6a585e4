"""``course-ta say "text" -o clip.ogg``: speak text through the voice chain, as the bots would."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.settings import load_settings

if TYPE_CHECKING:
    from voice.encoding import ClipFormat


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta say`` to the CLI."""
    parser = subcommands.add_parser("say", help="speak text in the course voice and write a clip (.ogg Opus or .mp3)")
    parser.add_argument("text", help="what to say (markdown, links and citation markers are cleaned up); '-' reads stdin")
    parser.add_argument("-o", "--output", type=Path, required=True, help="clip file; the extension picks the format (.ogg or .mp3)")
    parser.add_argument("--backends", help="override COURSE_TA_VOICE_BACKENDS for this call, e.g. 'piper'")
    parser.add_argument("--json", action="store_true", help="print what happened as one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Write the clip; exit 2 for an unusable file name, 1 when no backend could speak, else 0."""
    from voice.render import render_clip

    suffix = args.output.suffix.lower().lstrip(".")
    formats: dict[str, ClipFormat] = {"ogg": "ogg", "opus": "ogg", "oga": "ogg", "mp3": "mp3"}
    fmt = formats.get(suffix)
    if fmt is None:
        print(f"course-ta say: {args.output}: use a .ogg (Opus) or .mp3 file name", file=sys.stderr)
        return 2
    overrides = {"voice_backends": args.backends} if args.backends else {}
    settings = load_settings(**overrides)
    text = sys.stdin.read() if args.text == "-" else args.text
    clip = render_clip(text, settings, formats=(fmt,))
    if args.json:
        print(
            json.dumps(
                {
                    "ok": clip.ok,
                    "error": clip.error,
                    "backend": clip.backend,
                    "voice": clip.voice,
                    "duration_s": round(clip.duration_s, 3),
                    "cached": clip.cached,
                    "truncated": clip.truncated,
                    "spoken_text": clip.text,
                    "output": str(args.output) if clip.ok else None,
                    "attempts": [{"backend": a.backend, "outcome": a.outcome, "reason": a.reason} for a in clip.attempts],
                }
            )
        )
    if not clip.ok:
        print(f"course-ta say: {clip.error}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(clip.files[fmt])
    if not args.json:
        source = "cache" if clip.cached else f"{clip.seconds:.2f} s"
        print(f"{args.output}: {clip.duration_s:.1f} s, {clip.backend} ({clip.voice}), {source}")
        for attempt in clip.attempts:
            if attempt.outcome not in ("spoke", "cached"):
                print(f"  skipped {attempt.backend}: {attempt.reason}")
    return 0
