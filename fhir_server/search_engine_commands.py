"""`fhir-server reindex --search-engine` and `fhir-server reconcile`: the Elasticsearch indexes
checked against the database and rebuilt from it (``search/backends/elasticsearch_sync.py``)."""

from __future__ import annotations

import argparse
import sys

from fhir_server.settings import Settings


def add_parsers(commands) -> None:
    reconcile = commands.add_parser("reconcile", help="compare the database with the Elasticsearch indexes per "
                                                      "resource type, report the differences and, with --repair, "
                                                      "repair them; exits 1 while differences remain")
    reconcile.add_argument("--type", dest="resource_type", help="only this resource type")
    reconcile.add_argument("--repair", action="store_true", help="push every difference to the index")


def run_reconcile(settings: Settings, args: argparse.Namespace) -> int:
    context, synchronizer = _synchronizer(settings)
    if synchronizer is None:
        return 2
    remaining = 0
    try:
        for resource_type in _types(context, synchronizer, args.resource_type):
            differences = synchronizer.reconcile(resource_type, repair=args.repair)
            if differences.total:
                print(f"{resource_type}: {len(differences.missing)} missing from the index, "
                      f"{len(differences.extra)} in the index only, {len(differences.stale)} older and "
                      f"{len(differences.ahead)} newer in the index" + (" - repaired" if args.repair else ""))
                for label, ids in (("missing", differences.missing), ("extra", differences.extra),
                                   ("stale", differences.stale), ("ahead", differences.ahead)):
                    if ids:
                        print(f"  {label}: {', '.join(ids[:10])}" + (" ..." if len(ids) > 10 else ""))
                if args.repair:
                    differences = synchronizer.reconcile(resource_type)
                remaining += differences.total
    finally:
        context.repository.database.dispose()
    print("index and database agree" if not remaining else f"{remaining} differences remain")
    return 0 if not remaining else 1


def run_reindex(settings: Settings, resource_type: str | None) -> int:
    """Rebuild the Elasticsearch documents from the database with _bulk (the SQL index is left as it is)."""
    context, synchronizer = _synchronizer(settings)
    if synchronizer is None:
        return 2
    total = 0
    try:
        for kind in _types(context, synchronizer, resource_type):
            total += synchronizer.reindex(kind, progress=lambda done, kind=kind: print(
                f"\r{kind}: {done} documents", end="", file=sys.stderr))
            print(file=sys.stderr)
    finally:
        context.repository.database.dispose()
    print(f"{total} documents written to Elasticsearch")
    return 0


def _synchronizer(settings: Settings):
    from fhir_server.app import build_context

    if settings.search_backend != "elasticsearch":
        print("FHIR_SERVER_SEARCH_BACKEND is not elasticsearch: there is no search engine index to work on",
              file=sys.stderr)
        return None, None
    context = build_context(settings)
    return context, context.repository.outbox


def _types(context, synchronizer, resource_type: str | None) -> list[str]:
    """The given type, else every type stored in the database or holding an index."""
    if resource_type:
        return [resource_type]
    from sqlalchemy import select

    from fhir_server.storage.tables import resources

    with context.repository.database.read() as connection:
        stored = set(connection.execute(select(resources.c.resource_type).distinct()).scalars())
    by_index = {synchronizer.backend.index_name(kind): kind for kind in context.search.index_types()}
    indexed = {by_index[name] for name in synchronizer.backend.existing_indexes() if name in by_index}
    return sorted(stored | indexed)
