"""Search benchmark: first-page latency of each kind of query, and counting, as the database grows.

Loads synthetic patients into a fresh database through the same pipeline as `POST /fhir` (--jobs
processes), in steps (--patients 100,1000 loads 100, measures, loads 900 more, measures), runs
ANALYZE as `fhir-server load` does, serves the database as `make run` does, and times each query's
first page (`_count=50`) over HTTP, sequentially, --repeat times: p50 and p95 in milliseconds.
--visits 58 gives about 500 resources per patient (the issue's 1,000 patients, 500,000 resources).

    python bench/search.py --patients 100,1000 --visits 58 [--database-url URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))
from rest_core import free_port, peak_memory_mb, start_server  # noqa: E402
from synthetic import bundles  # noqa: E402


PER_BUNDLE = 5  # patients per transaction Bundle


def _load_slice(arguments: tuple[str, int, int, int]) -> int:
    """Load patients [first, last) in one process; returns how many resources."""
    from fhir_server.app import build_context
    from fhir_server.pipeline import FhirRequest
    from fhir_server.settings import Settings

    database_url, first, last, visits = arguments
    context = build_context(Settings(database_url=database_url))
    loaded = 0
    for bundle in bundles(last, seed=21, stable_ids=False, per_bundle=PER_BUNDLE, visits=visits, first_patient=first):
        body = json.dumps(bundle).encode()
        response = context.pipeline.handle(FhirRequest("POST", "", body=body, base_url="http://bench/fhir"), context)
        if response.status != 200:
            raise RuntimeError(f"load failed: {response.status}")
        loaded += len(bundle["entry"])
    context.repository.database.dispose()
    return loaded


def load(database_url: str, first: int, last: int, visits: int, jobs: int) -> tuple[int, float]:
    """Load patients [first, last) with ``jobs`` processes, then ANALYZE; (resources, seconds)."""
    from fhir_server.storage.database import Database

    started = time.perf_counter()
    chunk = PER_BUNDLE * 4
    slices = [(database_url, start, min(start + chunk, last), visits) for start in range(first, last, chunk)]
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        loaded = sum(pool.imap_unordered(_load_slice, slices))
    database = Database(database_url)
    database.analyze()
    database.dispose()
    return loaded, time.perf_counter() - started


def get(connection: http.client.HTTPConnection, path: str) -> tuple[float, dict]:
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    if response.status != 200:
        raise RuntimeError(f"{path}: {response.status} {body[:300]!r}")
    return elapsed * 1000, json.loads(body)


def queries(connection) -> dict[str, str]:
    _, page = get(connection, "/fhir/Patient?_count=1")
    patient = page["entry"][0]["resource"]
    mrn = patient["identifier"][0]["value"]
    return {
        "token": "/fhir/Observation?code=http://loinc.org|4548-4&_count=50",
        "date range": "/fhir/Observation?date=ge2018-01-01&date=lt2018-07-01&_count=50",
        "reference": f"/fhir/Observation?subject=Patient/{patient['id']}&_count=50",
        "chain (2 levels)": f"/fhir/Observation?encounter.subject.identifier={quote(mrn)}&_count=50",
        "_has": "/fhir/Patient?_has:Condition:patient:code=C50.9&_count=50",
        "_include": "/fhir/Condition?code=C50.9&_include=Condition:patient&_count=50",
        "_sort by date": "/fhir/Observation?code=http://loinc.org|718-7&_sort=-date&_count=50",
        "_summary=count (most observations)": "/fhir/Observation?status=final&_summary=count",
    }


def database_bytes(database_url: str) -> int:
    from fhir_server.storage.database import Database

    database = Database(database_url)
    try:
        if database.is_sqlite:
            path = Path(database.url.database)
            return sum(file.stat().st_size for file in (path, Path(f"{path}-wal")) if file.exists())
        with database.engine.connect() as connection:
            return connection.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
    finally:
        database.dispose()


def measure(database_url: str, repeat: int, settings: dict[str, str] | None = None) -> dict:
    """p50 and p95 of each query's first page, served with these extra ``FHIR_SERVER_*`` settings."""
    port = free_port()
    server = start_server(database_url, port, settings=settings)
    results = {}
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for name, path in queries(connection).items():
            _, first = get(connection, path)  # warm-up; also tells how many match
            timings = sorted(get(connection, path)[0] for _ in range(repeat))
            matched = first.get("total", len(first.get("entry", [])))
            results[name] = {"p50_ms": round(statistics.median(timings), 2),
                             "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2), "first_page_or_total": matched}
        results["server peak memory (MB, all processes)"] = peak_memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    return results


def main() -> None:
    from fhir_server.storage.database import migrate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", default="1000", help="comma-separated sizes to measure at, ascending")
    parser.add_argument("--visits", type=int, default=0, help="average visits per patient (see synthetic.py)")
    parser.add_argument("--database-url", help="an empty database; default: a fresh SQLite file")
    parser.add_argument("--jobs", type=int, default=os.cpu_count(), help="loading processes")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fhir-search-bench-"))
    database_url = args.database_url or f"sqlite:///{folder / 'fhir.sqlite'}"
    migrate(database_url)
    steps, loaded_patients, resources = [], 0, 0
    try:
        for patients in (int(size) for size in args.patients.split(",")):
            added, seconds = load(database_url, loaded_patients, patients, args.visits, args.jobs)
            loaded_patients, resources = patients, resources + added
            size = database_bytes(database_url)
            steps.append({"patients": patients, "resources": resources,
                          "load_resources_per_second": round(added / seconds),
                          "database_mb": round(size / 2**20), "bytes_per_resource": round(size / resources),
                          "queries": measure(database_url, args.repeat)})
            print(json.dumps(steps[-1], ensure_ascii=False), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": database_url.split(":", 1)[0], "loading_processes": args.jobs, "steps": steps,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
