"""Elasticsearch backend benchmark: indexing throughput and search latencies, side by side with SQL.

1. Loads synthetic patients as transaction Bundles in one process twice, into two fresh SQLite
   files: with the SQL backend only, and with Elasticsearch (each write waits until searchable).
2. Rebuilds every index from the database with `_bulk` (`fhir-server reindex --search-engine`).
3. Serves the Elasticsearch-backed database twice, once per backend, and times the search
   benchmark's queries (bench/search.py) over HTTP: p50 and p95 in milliseconds.

Without --elasticsearch-url it runs the in-memory emulator the tests use (osmem-server behind the
header-rewriting proxy): the figures are the emulator's, not Elasticsearch's.

    python bench/search_engine.py --patients 200 [--elasticsearch-url http://127.0.0.1:9200]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent))
from search import PER_BUNDLE, measure  # noqa: E402
from synthetic import bundles  # noqa: E402

def load(settings, patients: int, visits: int) -> tuple[int, float]:
    """Store the patients' Bundles through the pipeline, as `POST /fhir` does; (resources, seconds)."""
    from fhir_server.app import build_context
    from fhir_server.pipeline import FhirRequest

    context = build_context(settings)
    loaded, started = 0, time.perf_counter()
    for bundle in bundles(patients, seed=21, stable_ids=False, per_bundle=PER_BUNDLE, visits=visits):
        response = context.pipeline.handle(FhirRequest("POST", "", body=json.dumps(bundle).encode(),
                                                       base_url="http://bench/fhir"), context)
        if response.status != 200:
            raise RuntimeError(f"load failed: {response.status} {response.body[:300]!r}")
        loaded += len(bundle["entry"])
    seconds = time.perf_counter() - started
    context.repository.database.analyze()  # as `fhir-server load` does: SQLite plans by the statistics
    context.repository.database.dispose()
    return loaded, seconds


def reindex(settings) -> tuple[int, float]:
    from fhir_server.app import build_context
    from fhir_server.search_engine_commands import _types

    context = build_context(settings)
    synchronizer = context.repository.outbox
    started, done = time.perf_counter(), 0
    for resource_type in _types(context, synchronizer, None):
        done += synchronizer.reindex(resource_type)
    seconds = time.perf_counter() - started
    context.repository.database.dispose()
    return done, seconds


def main() -> None:
    from fhir_server.settings import Settings
    from fhir_server.storage.database import migrate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=200)
    parser.add_argument("--visits", type=int, default=0, help="average visits per patient (see synthetic.py)")
    parser.add_argument("--elasticsearch-url", help="a real cluster; default: the in-memory emulator")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    emulator = None
    if not args.elasticsearch_url:
        from tests.search.elasticsearch_emulator import Emulator

        emulator = Emulator()
    url = args.elasticsearch_url or emulator.url
    engine = {"FHIR_SERVER_SEARCH_BACKEND": "elasticsearch", "FHIR_SERVER_ELASTICSEARCH_URL": url,
              "FHIR_SERVER_ELASTICSEARCH_INDEX_PREFIX": f"bench{os.getpid()}-"}
    folder = Path(tempfile.mkdtemp(prefix="fhir-es-bench-"))
    try:
        sql_url, engine_url = (f"sqlite:///{folder / name}" for name in ("sql.sqlite", "es.sqlite"))
        for database_url in (sql_url, engine_url):
            migrate(database_url)
        resources, sql_seconds = load(Settings(database_url=sql_url), args.patients, args.visits)
        engine_settings = Settings(database_url=engine_url, search_backend="elasticsearch", elasticsearch_url=url,
                                   elasticsearch_index_prefix=engine["FHIR_SERVER_ELASTICSEARCH_INDEX_PREFIX"])
        _, engine_seconds = load(engine_settings, args.patients, args.visits)
        reindexed, reindex_seconds = reindex(engine_settings)
        report = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
            "engine": "osmem-server emulator" if emulator else url, "patients": args.patients, "resources": resources,
            "bundles_resources_per_second": {"sql only": round(resources / sql_seconds),
                                             "with elasticsearch (refresh=wait_for)": round(resources / engine_seconds)},
            "reindex_bulk_resources_per_second": round(reindexed / reindex_seconds),
            "queries": {"sql": measure(engine_url, args.repeat, {"FHIR_SERVER_SEARCH_BACKEND": "sql"}),
                        "elasticsearch": measure(engine_url, args.repeat, engine)},
        }
        print(json.dumps(report, indent=2, ensure_ascii=False))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if emulator is not None:
            emulator.close()


if __name__ == "__main__":
    main()
