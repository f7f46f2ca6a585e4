"""``course-ta es {status,reindex,switch,cleanup}``: the Elasticsearch index behind the alias.

``reindex`` builds a new physical index from the current one (``--reembed`` with
``COURSE_TA_EMBEDDING_MODEL``, e.g. a fine-tuned model) and moves the alias atomically;
``cleanup`` (after restarting the services) copies their late writes and deletes old indices.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pipelines.settings import Settings, load_settings


def register(subcommands: argparse._SubParsersAction) -> None:
    """Add ``course-ta es`` and its options to the command line."""
    parser = subcommands.add_parser("es", help="Elasticsearch index: status, zero-downtime reindex, alias switch, cleanup")
    actions = parser.add_subparsers(dest="es_action", required=True, metavar="ACTION")
    actions.add_parser("status", help="alias, indices, mapping meta and document counts (JSON)")
    reindex = actions.add_parser("reindex", help="copy into a new index and switch the alias atomically")
    reindex.add_argument("--reembed", action="store_true", help="embed every chunk again with COURSE_TA_EMBEDDING_MODEL")
    reindex.add_argument("--no-switch", action="store_true", help="build the new index but leave the alias where it is")
    reindex.add_argument("--delete-old", action="store_true", help="delete the old index right after the switch")
    switch = actions.add_parser("switch", help="point the alias at an existing index (rollback)")
    switch.add_argument("--to", required=True, dest="target_index", help="the concrete index name")
    cleanup = actions.add_parser("cleanup", help="copy late writes from old indices into the current one, then delete them")
    cleanup.add_argument("--reembed", action="store_true", help="the current index uses a different model than the old ones")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Run one index action and print its outcome; exit 1 when Elasticsearch refuses or cannot be reached."""
    from elastic_transport import TransportError

    from pipelines.stores import elasticsearch_index as es_index

    settings = load_settings()
    try:
        if args.es_action == "status":
            print(json.dumps(status(settings), indent=2))
        elif args.es_action == "reindex":
            from pipelines.stores.reindex import reindex

            report = reindex(settings, reembed=args.reembed, delete_old=args.delete_old, switch=not args.no_switch)
            where = f"alias {report.alias} now points at it" if report.switched else f"alias {report.alias} unchanged (--no-switch)"
            print(
                f"built {report.new_index} from {', '.join(report.old_indices)}: {report.copied} copied, {report.removed} removed "
                f"in {report.passes} catch-up pass(es), {report.seconds:.1f}s; {where}"
            )
            if report.switched and not report.deleted:
                print("next: restart the services (they keep the old index until then), then run: course-ta es cleanup")
        elif args.es_action == "switch":
            client = es_index.connect(settings)
            if not client.indices.exists(index=args.target_index):
                print(f"course-ta es switch: no index named {args.target_index}", file=sys.stderr)
                return 1
            left = es_index.switch_alias(client, settings.elasticsearch_index, args.target_index)
            print(f"alias {settings.elasticsearch_index} -> {args.target_index} (was {', '.join(left) or 'nothing'})")
        else:
            from pipelines.stores.reindex import finish_reindex

            report = finish_reindex(settings, reembed=args.reembed)
            print(f"copied {report.copied} late document(s) into {report.new_index}; deleted {', '.join(report.deleted) or 'nothing'}")
    except es_index.ElasticsearchSetupError as error:
        print(f"course-ta es: {error}", file=sys.stderr)
        return 1
    except TransportError as error:
        print(f"course-ta es: {settings.describe_store()}: {type(error).__name__}: {error.message}", file=sys.stderr)
        return 1
    return 0


def status(settings: Settings) -> dict:
    """The server version, the alias, what it points at, and every index's count, model, dims and vector format."""
    from pipelines.stores import elasticsearch_index as es_index

    client = es_index.connect(settings)
    alias = settings.elasticsearch_index
    version = client.info()["version"]["number"]
    indices = es_index.physical_indices(client, alias) + (
        [alias] if client.indices.exists(index=alias) and not es_index.indices_behind(client, alias) else []
    )
    behind = es_index.indices_behind(client, alias)
    per_index: dict[str, Any] = {}
    report = {"elasticsearch": version, "alias": alias, "behind_alias": behind, "indices": per_index}
    for index in indices:
        meta = es_index.index_meta(client, index)
        per_index[index] = {
            "documents": client.count(index=index)["count"],
            "embedding_model": meta.get("embedding_model"),
            "dims": meta["embedding_field"].get("dims"),
            "index_options": meta["embedding_field"].get("index_options", {}).get("type"),
        }
    return report
