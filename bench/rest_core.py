"""Benchmark of the REST core: reads and transaction-Bundle ingest against a real server.

Starts `fhir-server serve` on a fresh database exactly as `make run` does (init-db, gunicorn with
its default workers) and reports:

- reads/s and p50/p99 latency of GET /Patient/{id} with 16 concurrent keep-alive clients
  (wrk from Debian's `wrk` package when installed, else a Python client, named in the output);
- resources/s loading transaction Bundles of synthetic Synthea-like patients, with full validation.

With ``--auth`` the server requires bearer tokens and keeps its audit trail (an AuditEvent per request);
the clients send a development token from `fhir-server token`.

    python bench/rest_core.py [--database-url URL] [--patients 300] [--seconds 15] [--auth]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import bundles  # noqa: E402

BIN = Path(sys.executable).parent
CHECKOUT = Path(__file__).resolve().parent.parent
HEADERS: dict[str, str] = {}  # the bearer token, with --auth


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(database_url: str, port: int, workers: int | None = None,
                 auth_key: Path | None = None, settings: dict[str, str] | None = None) -> subprocess.Popen:
    environment = {**os.environ, "FHIR_SERVER_DATABASE_URL": database_url, "FHIR_SERVER_LOG_LEVEL": "WARNING",
                   **({"FHIR_SERVER_WORKERS": str(workers)} if workers else {}), **(settings or {})}
    # The server runs this checkout's code, the one being measured, whatever is installed and wherever the
    # benchmark was started: granian also puts its working directory first on its workers' sys.path.
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(CHECKOUT), environment.get("PYTHONPATH")]))
    if auth_key is not None:
        environment.update(FHIR_SERVER_AUTH="on", FHIR_SERVER_AUTH_DEV_KEY=str(auth_key), FHIR_SERVER_PORT=str(port))
        token = subprocess.run([BIN / "fhir-server", "token", "--scope", "user/*.cruds", "--role", "integrator"],
                               env=environment, check=True, capture_output=True, text=True).stdout.strip()
        HEADERS["Authorization"] = f"Bearer {token}"
    subprocess.run([BIN / "fhir-server", "init-db"], env=environment, check=True, capture_output=True, cwd=CHECKOUT)
    server = subprocess.Popen([BIN / "fhir-server", "serve", "--port", str(port)], env=environment, cwd=CHECKOUT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/fhir/metadata")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("server did not start")


def peak_memory_mb(root: int) -> float:
    """Peak resident memory (VmHWM) of a process and its descendants (granian's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        pending += children.get(pid, [])
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")), 0)
    return round(total / 1024, 1)


def post_bundle(port: int, body: bytes) -> list[str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    connection.request("POST", "/fhir", body, {"Content-Type": "application/fhir+json", **HEADERS})
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise RuntimeError(f"transaction failed: {response.status} {payload[:500]!r}")
    return [entry["response"]["location"] for entry in json.loads(payload)["entry"]]


def ingest(port: int, patients: int, clients: int) -> tuple[float, int, list[str]]:
    """Load Bundles of 10 patients from ``clients`` concurrent connections; resources/s, count, patient ids."""
    bodies = [json.dumps(bundle).encode() for bundle in bundles(patients, seed=11, stable_ids=False, per_bundle=10)]
    resources = sum(body.count(b'"request"') for body in bodies)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        locations = [location for result in pool.map(lambda body: post_bundle(port, body), bodies) for location in result]
    elapsed = time.perf_counter() - started
    patient_ids = [location.split("/")[1] for location in locations if location.startswith("Patient/")]
    return resources / elapsed, resources, patient_ids


WRK_SCRIPT = """
local ids = {}
for line in io.lines("%s") do ids[#ids + 1] = line end
request = function()
  return wrk.format("GET", "/fhir/Patient/" .. ids[math.random(#ids)], headers)
end
"""


def reads_with_wrk(port: int, ids: list[str], seconds: int) -> dict:
    folder = Path(tempfile.mkdtemp())
    (folder / "ids.txt").write_text("\n".join(ids))
    headers = "local headers = {" + ", ".join(f'["{name}"] = "{value}"' for name, value in HEADERS.items()) + "}\n"
    (folder / "read.lua").write_text(headers + WRK_SCRIPT % (folder / "ids.txt"))
    output = subprocess.run(["wrk", "-t", "2", "-c", "16", "-d", f"{seconds}s", "--latency", "-s",
                             str(folder / "read.lua"), f"http://127.0.0.1:{port}"],
                            capture_output=True, text=True, check=True).stdout
    shutil.rmtree(folder)
    result = {"tool": "wrk (2 threads, 16 connections)"}
    for line in output.splitlines():
        parts = line.split()
        if line.strip().startswith("Requests/sec:"):
            result["reads_per_second"] = float(parts[1])
        elif len(parts) == 2 and parts[0] in ("50%", "99%"):
            result[f"p{parts[0][:-1]}_ms"] = _milliseconds(parts[1])
        elif "Non-2xx" in line or "Socket errors" in line:
            result["errors"] = line.strip()
    return result


def _milliseconds(text: str) -> float:
    for unit, factor in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if text.endswith(unit):
            return round(float(text[: -len(unit)]) * factor, 3)
    return float(text)


def reads_with_python(port: int, ids: list[str], seconds: int) -> dict:
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine = []
        while time.monotonic() < stop:
            started = time.perf_counter()
            connection.request("GET", f"/fhir/Patient/{random.choice(ids)}", headers=HEADERS)
            response = connection.getresponse()
            response.read()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    quantiles = statistics.quantiles(latencies, n=100)
    return {"tool": "Python http.client, 16 threads (client shares the CPU and the GIL)",
            "reads_per_second": len(latencies) / seconds,
            "p50_ms": round(quantiles[49] * 1000, 3), "p99_ms": round(quantiles[98] * 1000, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="default: a fresh SQLite file, as make run uses")
    parser.add_argument("--patients", type=int, default=300, help="synthetic patients to ingest")
    parser.add_argument("--clients", type=int, default=4, help="concurrent ingest connections")
    parser.add_argument("--seconds", type=int, default=15, help="duration of the read test")
    parser.add_argument("--auth", action="store_true", help="require bearer tokens and keep the audit trail")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="fhir-bench-"))
    database_url = args.database_url or f"sqlite:///{folder / 'fhir.sqlite'}"
    port = free_port()
    server = start_server(database_url, port, auth_key=folder / "dev-key.pem" if args.auth else None)
    try:
        rate, count, patient_ids = ingest(port, args.patients, args.clients)
        reads = reads_with_wrk(port, patient_ids, args.seconds) if shutil.which("wrk") else \
            reads_with_python(port, patient_ids, args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(folder, ignore_errors=True)
    report = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
                   f"{platform.system()} {platform.release()}",
        "database": database_url.split(":", 1)[0],
        "auth": "bearer tokens and audit trail" if args.auth else "off",
        "ingest": {"resources": count, "patients": args.patients, "clients": args.clients,
                   "resources_per_second": round(rate)},
        "read": {key: round(value) if key == "reads_per_second" else value for key, value in reads.items()},
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
