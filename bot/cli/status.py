"""``course-ta status``: what is indexed, where, and with which model; with a courses file, the course's state and limits."""

from __future__ import annotations

import argparse

from pipelines.courses.catalog import CourseError
from pipelines.courses.course_settings import explicit_course
from pipelines.courses.course_status import course_status_lines
from pipelines.courses.limits import CourseLimits
from pipelines.freshness.ledger import ledger_status_lines
from pipelines.settings import SettingsError, load_settings
from pipelines.stores.document_store import open_store


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``status`` to the command line."""
    parser = subcommands.add_parser("status", help="show videos, chunks, store, model and the freshness ledger")
    parser.set_defaults(handler=run)


def _count_kind(store, kind: str) -> int:
    return store.count_documents_by_filter({"field": "meta.kind", "operator": "==", "value": kind})


def run(args: argparse.Namespace) -> int:
    """Print the store's counts and the ledger's view of every source and stage."""
    settings = load_settings()
    bundle = open_store(settings)
    # Counts come from the store's own count queries so this stays cheap on a large Elasticsearch index.
    unique = bundle.store.count_unique_metadata_by_filter({}, ["video_id", "source"])
    summaries = _count_kind(bundle.store, "summary")
    print(f"data dir:   {settings.data_dir}")
    for line in _course_lines():
        print(line)
    print(f"store:      {settings.describe_store()}")
    print(f"model:      {settings.embedding_model}")
    print(f"videos:     {unique.get('video_id', 0)} (from {unique.get('source', 0)} source(s))")
    print(f"chunks:     {_count_kind(bundle.store, 'chunk')}" + (f"  summaries: {summaries}" if summaries else ""))
    for line in ledger_status_lines(settings):
        print(line)
    return 0


def _course_lines() -> list[str]:
    """Whether the course answers and its limits; nothing in a deployment without a courses file (it has neither)."""
    base = load_settings(deployment=True)
    try:
        course = explicit_course(base)
    except CourseError as error:
        raise SettingsError(str(error)) from None
    return [] if course is None else course_status_lines(course, CourseLimits.of_deployment(base.data_dir))
