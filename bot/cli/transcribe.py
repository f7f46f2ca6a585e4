"""``course-ta transcribe FILE``: transcribe one media file with faster-whisper; print SRT or JSON."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.corpus.transcription.formats import to_json, to_srt
from pipelines.corpus.transcription.vocabulary import initial_prompt
from pipelines.corpus.transcription.whisper import FasterWhisperTranscriber
from pipelines.freshness.faults import VideoFailure
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta transcribe`` and its options to the command line."""
    parser = subcommands.add_parser("transcribe", help="transcribe a media file (prints SRT or JSON)")
    parser.add_argument("file", type=Path, metavar="FILE", help="audio or video file (anything FFmpeg decodes)")
    parser.add_argument("--format", choices=("srt", "json"), default="srt", help="output format (default srt)")
    parser.add_argument("--prompt", help="initial prompt; default: vocabulary of the synced course, if any")
    parser.add_argument("--terms", help="comma-separated terms to spell right (builds a glossary prompt)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Print the transcript as SRT or JSON (figures on stderr); exit 1 when the file fails or has no speech."""
    settings = load_settings()
    prompt = args.prompt
    if prompt is None and args.terms:
        prompt = initial_prompt([t.strip() for t in args.terms.split(",") if t.strip()])
    if prompt is None and settings.ledger_path.exists():
        from pipelines.freshness.engine import SyncRunner

        prompt = SyncRunner(settings).vocabulary_prompt()
    transcriber = FasterWhisperTranscriber.from_settings(settings)
    try:
        result = transcriber.transcribe_file(args.file, prompt)
    except VideoFailure as error:
        print(f"course-ta: {error.reason}", file=sys.stderr)
        return 1
    if not result.segments:
        print(f"course-ta: no speech detected in {args.file.name}", file=sys.stderr)
    if args.format == "json":
        print(to_json(result.segments, source=str(args.file), language=result.language, audio_s=round(result.audio_s, 3)))
    else:
        print(to_srt(result.segments))
    print(
        f"transcribed {result.audio_s:.1f}s of audio in {result.seconds:.1f}s ({result.real_time_factor:.1f}x real time)",
        file=sys.stderr,
    )
    return 0 if result.segments else 1
