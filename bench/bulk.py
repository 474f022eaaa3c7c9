"""Benchmark of bulk data against a real server: `$import` of NDJSON, transaction Bundles of the same resources,
and `$export` of everything, on the synthetic population (`python -m population`).

Starts `fhir-server serve` on a fresh database as `make run` does, for each way of loading, and reports
resources per second over the whole load (kick-off to the final manifest, for the asynchronous jobs).

    python bench/bulk.py [--patients 1000] [--database-url URL] [--clients 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from rest_core import free_port, peak_memory_mb, start_server  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    connection.request(method, path, body, headers or {})
    response = connection.getresponse()
    return response.status, {key.lower(): value for key, value in response.getheaders()}, response.read()


def wait_for(port: int, status_url: str) -> dict:
    path = "/" + status_url.split("/", 3)[3]
    while True:
        status, _, body = request(port, "GET", path)
        if status == 200:
            return json.loads(body)
        if status != 202:
            raise RuntimeError(f"job failed: {status} {body[:300]!r}")
        time.sleep(0.1)


def bulk_import(port: int, folder: Path) -> tuple[int, float]:
    inputs = [{"name": "input", "part": [{"name": "type", "valueCode": path.stem},
                                         {"name": "url", "valueUri": path.as_uri()}]}
              for path in sorted(folder.glob("*.ndjson"))]
    body = json.dumps({"resourceType": "Parameters", "parameter": [
        {"name": "inputFormat", "valueCode": "application/fhir+ndjson"}, *inputs]}).encode()
    started = time.perf_counter()
    status, headers, answer = request(port, "POST", "/fhir/$import", body,
                                      {"Content-Type": "application/fhir+json", "Prefer": "respond-async"})
    if status != 202:
        raise RuntimeError(f"$import refused: {status} {answer[:300]!r}")
    summary = wait_for(port, headers["content-location"])["summary"]
    if summary["rejected"]:
        raise RuntimeError(f"$import rejected lines: {summary}")
    return summary["created"], time.perf_counter() - started


def bundles(port: int, folder: Path, clients: int) -> tuple[int, float]:
    bodies = [path.read_bytes() for path in sorted(folder.glob("bundle-*.json"))]
    started = time.perf_counter()

    def post(body: bytes) -> int:
        status, _, answer = request(port, "POST", "/fhir", body, {"Content-Type": "application/fhir+json"})
        if status != 200:
            raise RuntimeError(f"transaction failed: {status} {answer[:300]!r}")
        return body.count(b'"request"')

    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(post, bodies))
    return total, time.perf_counter() - started


def bulk_export(port: int) -> tuple[int, float]:
    started = time.perf_counter()
    status, headers, answer = request(port, "GET", "/fhir/$export", headers={"Prefer": "respond-async"})
    if status != 202:
        raise RuntimeError(f"$export refused: {status} {answer[:300]!r}")
    manifest = wait_for(port, headers["content-location"])
    return sum(output["count"] for output in manifest["output"]), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1000)
    parser.add_argument("--database-url", help="a fresh, empty PostgreSQL database (then only $import and $export run)")
    parser.add_argument("--clients", type=int, default=2, help="concurrent connections posting transaction Bundles")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}, {args.patients} patients")
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "population"
        subprocess.run([sys.executable, "-m", "population", "--patients", str(args.patients), "--seed", "1",
                        "--formats", "ndjson,bundles", "--out", str(data)], check=True, cwd=ROOT)
        for name, run in (("$import (NDJSON)", lambda port: bulk_import(port, data / "ndjson")),
                          (f"transaction Bundles ({args.clients} clients)",
                           lambda port: bundles(port, data / "bundles", args.clients))):
            database = args.database_url or f"sqlite:///{scratch}/{len(name)}.sqlite"
            port = free_port()
            os.environ.update({"FHIR_SERVER_IMPORT_FOLDERS": str(data), "FHIR_SERVER_EXPORTS_FOLDER":
                               f"{scratch}/exports", "FHIR_SERVER_IMPORTS_FOLDER": f"{scratch}/imports"})
            server = start_server(database, port)
            try:
                count, elapsed = run(port)
                print(f"{name:34} {count:>9} resources in {elapsed:6.1f} s = {count / elapsed:8.0f} resources/s; "
                      f"server peak memory {peak_memory_mb(server.pid):.0f} MB")
                if name.startswith("$import"):
                    count, elapsed = bulk_export(port)
                    print(f"{'$export (system, NDJSON)':34} {count:>9} resources in {elapsed:6.1f} s = "
                          f"{count / elapsed:8.0f} resources/s")
            finally:
                server.terminate()
                server.wait(30)
            if args.database_url:
                break  # one fresh PostgreSQL database serves one load


if __name__ == "__main__":
    main()
