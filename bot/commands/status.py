"""``course-ta status``: what is indexed, where, and with which model."""

from __future__ import annotations

import argparse
from collections import Counter

from pipelines.document_store import open_store
from pipelines.ledger import ledger_status_lines
from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    parser = subcommands.add_parser("status", help="show videos, chunks, store, model and the freshness ledger")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    bundle = open_store(settings)
    documents = bundle.store.filter_documents()
    kinds = Counter(str(d.meta.get("kind")) for d in documents)
    videos = {d.meta.get("video_id") for d in documents}
    sources = Counter(str(d.meta.get("source")) for d in documents if d.meta.get("kind") == "chunk")
    print(f"data dir:   {settings.data_dir}")
    print(f"store:      {settings.describe_store()}")
    print(f"model:      {settings.embedding_model}")
    print(f"videos:     {len(videos)}")
    print(f"chunks:     {kinds.get('chunk', 0)}" + (f"  summaries: {kinds['summary']}" if kinds.get("summary") else ""))
    for source, count in sorted(sources.items()):
        print(f"  {source}: {count} chunks")
    for line in ledger_status_lines(settings):
        print(line)
    return 0
