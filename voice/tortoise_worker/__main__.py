"""``python -m voice.tortoise_worker``: load Tortoise and serve the worker API (see server.py)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from aiohttp import web

from voice.tortoise_worker.engine import TortoiseEngine
from voice.tortoise_worker.model import PRESETS, ModelOptions
from voice.tortoise_worker.server import create_app


def main() -> None:
    """Parse the command line, load the model (an unavailable one is reported by ``/health``) and serve."""
    parser = argparse.ArgumentParser(prog="tortoise-worker", description="Tortoise TTS worker for course-ta")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8020)
    parser.add_argument("--voices-dir", type=Path, default=Path("/data/voices"))
    parser.add_argument("--models-dir", default=None, help="tortoise weights (default: TORTOISE_MODELS_DIR or tortoise's cache)")
    parser.add_argument("--preset", choices=PRESETS, default="ultra_fast")
    parser.add_argument("--no-kv-cache", action="store_true")
    parser.add_argument("--no-half", action="store_true")
    parser.add_argument("--deepspeed", action="store_true")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--allow-cpu", action="store_true", help="run without a GPU (minutes per sentence)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    options = ModelOptions(
        models_dir=args.models_dir,
        kv_cache=not args.no_kv_cache,
        half=not args.no_half,
        use_deepspeed=args.deepspeed,
        autoregressive_batch_size=args.batch_size,
        allow_cpu=args.allow_cpu,
    )
    engine = TortoiseEngine(args.voices_dir, options, default_preset=args.preset)
    engine.load()
    web.run_app(create_app(engine), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
