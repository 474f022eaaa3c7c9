"""Search benchmark: first-page latency of each kind of query, and counting, at a given scale.

Loads --patients synthetic patients (about 32 resources each) into a fresh database through the same
pipeline as `POST /fhir`, serves it as `make run` does, and times each query's first page
(`_count=50`) over HTTP, sequentially, --repeat times: p50 and p95 in milliseconds.

    python bench/search.py --patients 1000 [--database-url URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
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
from rest_core import free_port, start_server  # noqa: E402
from synthetic import bundles  # noqa: E402


def load(database_url: str, patients: int) -> tuple[int, float]:
    from fhir_server.app import build_context
    from fhir_server.pipeline import FhirRequest
    from fhir_server.settings import Settings
    from fhir_server.storage.database import migrate

    migrate(database_url)
    context = build_context(Settings(database_url=database_url))
    loaded, started = 0, time.perf_counter()
    for bundle in bundles(patients, seed=21, stable_ids=False, per_bundle=20):
        body = json.dumps(bundle).encode()
        context.pipeline.handle(FhirRequest("POST", "", body=body, base_url="http://bench/fhir"), context)
        loaded += len(bundle["entry"])
    elapsed = time.perf_counter() - started
    context.repository.database.dispose()
    return loaded, elapsed


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fhir-search-bench-"))
    database_url = args.database_url or f"sqlite:///{folder / 'fhir.sqlite'}"
    resources, load_seconds = load(database_url, args.patients)
    port = free_port()
    server = start_server(database_url, port)
    results = {}
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        for name, path in queries(connection).items():
            _, first = get(connection, path)  # warm-up; also tells how many match
            timings = sorted(get(connection, path)[0] for _ in range(args.repeat))
            matched = first.get("total", len(first.get("entry", [])))
            results[name] = {"p50_ms": round(statistics.median(timings), 2),
                             "p95_ms": round(timings[int(0.95 * (len(timings) - 1))], 2), "first_page_or_total": matched}
    finally:
        server.terminate()
        server.wait(timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "database": database_url.split(":", 1)[0], "patients": args.patients, "resources": resources,
        "load_resources_per_second_single_process": round(resources / load_seconds),
        "queries": results,
    }, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
