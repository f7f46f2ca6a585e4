"""``course-ta migrate --to elasticsearch``: copy the embedded index into Elasticsearch, vectors included."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.settings import load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta migrate`` and its options to the command line."""
    parser = subcommands.add_parser("migrate", help="copy the embedded index into Elasticsearch without re-embedding")
    parser.add_argument("--to", choices=("elasticsearch",), required=True, help="the target store")
    parser.add_argument("--url", help="Elasticsearch URL (default COURSE_TA_ELASTICSEARCH_URL)")
    parser.add_argument("--from-dir", type=Path, help="embedded store folder (default $COURSE_TA_DATA_DIR/store)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Copy the embedded index into Elasticsearch and print what was copied; exit 1 when it cannot."""
    from elastic_transport import TransportError

    from pipelines.stores.elasticsearch_index import ElasticsearchSetupError
    from pipelines.stores.migrate import MigrationError, migrate_to_elasticsearch

    settings = load_settings(**({"elasticsearch_url": args.url} if args.url else {}))
    try:
        report = migrate_to_elasticsearch(settings, args.from_dir)
    except (MigrationError, ElasticsearchSetupError) as error:
        print(f"course-ta migrate: {error}", file=sys.stderr)
        return 1
    except TransportError as error:  # unreachable, TLS, auth: the client's message has no secrets
        print(f"course-ta migrate: Elasticsearch at {settings.describe_store()}: {type(error).__name__}: {error.message}", file=sys.stderr)
        return 1
    print(
        f"migrated {report.documents} documents ({report.dims}-dim vectors, not re-embedded) from {report.source} "
        f"to {settings.elasticsearch_url} index {report.index}; {report.in_target} present after the copy ({report.seconds:.1f}s)"
    )
    return 0
