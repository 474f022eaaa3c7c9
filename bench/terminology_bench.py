"""Terminology benchmark: normalize() throughput on EMR-like diagnosis code streams, and the FHIR
terminology operations over HTTP.

Draws real ICD-10 codes and spells them as EMR exports do (dotless, lower case with spaces, a trailing
filler, a dagger, an over-long subcode, full-width), then times normalize() over:
- a stream of --codes codes where codes repeat as in an EMR (--distinct different codes), cold start;
- the same stream again (every spelling seen before);
- every distinct spelling once, with the per-spelling cache cleared (each code already resolved).

Then, unless --no-server, it starts `fhir-server serve` (granian, one worker) on a fresh SQLite database
and times, one request at a time over a kept-alive connection: `CodeSystem/$lookup` of random ICD-10
codes, `ValueSet/$expand` of the rare-diseases cohort value set (over 10,000 codes) and a compose
`$expand` (is-a over ICD-10 chapter II), each after one warm-up call.

    python bench/terminology_bench.py [--codes 1000000] [--distinct 5000] [--lookups 2000] [--expands 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from terminology import registry  # noqa: E402
from terminology.normalize import Normalizer  # noqa: E402
from rest_core import free_port, start_server  # noqa: E402

_SPELLINGS = (lambda code: code, lambda code: code.replace(".", ""), lambda code: f" {code.lower()} ",
              lambda code: code + "-", lambda code: code + "†", lambda code: code + "0",
              lambda code: code.translate(str.maketrans("0123456789.ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                                                        "０１２３４５６７８９．ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺ")))


def _rate(normalizer: Normalizer, codes: list[str]) -> int:
    started = time.perf_counter()
    for code in codes:
        normalizer.normalize(code)
    return round(len(codes) / (time.perf_counter() - started))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--codes", type=int, default=1_000_000)
    parser.add_argument("--distinct", type=int, default=5_000, help="different diagnosis codes in the stream")
    parser.add_argument("--lookups", type=int, default=2_000, help="timed $lookup requests")
    parser.add_argument("--expands", type=int, default=50, help="timed requests of each $expand")
    parser.add_argument("--no-server", action="store_true", help="time normalize() only")
    args = parser.parse_args()
    started = time.perf_counter()
    terminology = registry.load()
    load_seconds = time.perf_counter() - started
    randomness = random.Random(11)
    codes = sorted(code for code, concept in terminology.icd10.concepts.items()
                   if concept.kind in ("category", "subcategory"))
    chosen = randomness.sample(codes, args.distinct)
    weights = [1 / rank for rank in range(1, len(chosen) + 1)]  # a few codes dominate, as in EMR data
    stream = [randomness.choice(_SPELLINGS)(code)
              for code in randomness.choices(chosen, weights=weights, k=args.codes)]
    normalizer = Normalizer(terminology)
    cold = _rate(normalizer, stream)
    warm = _rate(normalizer, stream)
    spellings = sorted(set(stream))
    normalizer._cache.clear()  # noqa: SLF001 - the point is to time the uncached path
    fresh_spellings = _rate(normalizer, spellings)
    figures = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_seconds": round(load_seconds, 2), "codes": args.codes, "distinct_codes": args.distinct,
        "distinct_spellings": len(spellings), "stream_cold_codes_per_second": cold,
        "stream_warm_codes_per_second": warm, "new_spellings_codes_per_second": fresh_spellings,
    }
    if not args.no_server:
        figures["operations"] = _operations(codes, randomness, args.lookups, args.expands)
    print(json.dumps(figures, indent=2))


def _operations(codes: list[str], randomness: random.Random, lookups: int, expands: int) -> dict:
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        server = start_server(f"sqlite:///{folder}/bench.sqlite", port, workers=1)
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            lookup = [f"/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10&code={code}"
                      for code in randomness.choices(codes, k=lookups)]
            rare = "/fhir/ValueSet/$expand?url=http://fhir-server.kr/ValueSet/rare-diseases"
            compose = json.dumps({"resourceType": "Parameters", "parameter": [{"name": "valueSet", "resource": {
                "resourceType": "ValueSet", "status": "active", "compose": {"include": [{
                    "system": "http://hl7.org/fhir/sid/icd-10",
                    "filter": [{"property": "concept", "op": "is-a", "value": "II"}]}]}}}]}).encode()
            found = {"lookup": _timed(connection, [("GET", path, None) for path in lookup])}
            found["expand_rare_diseases"] = _timed(connection, [("GET", rare, None)] * expands)
            found["expand_compose_chapter_II"] = _timed(connection, [("POST", "/fhir/ValueSet/$expand", compose)]
                                                        * expands)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    return found


def _timed(connection: http.client.HTTPConnection, requests: list[tuple]) -> dict:
    """p50/p99 in ms of the requests after a warm-up call of the first; the size of the last answer."""
    headers = {"Content-Type": "application/fhir+json"}
    timings, body = [], b""
    for index, (method, path, payload) in enumerate([requests[0], *requests]):
        started = time.perf_counter()
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"{method} {path}: {response.status} {body[:300]!r}")
        if index:
            timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    total = json.loads(body).get("expansion", {}).get("total")
    return {"requests": len(timings), "p50_ms": round(timings[len(timings) // 2], 2),
            "p99_ms": round(timings[min(len(timings) - 1, int(len(timings) * 0.99))], 2),
            **({"codes": total} if total is not None else {})}


if __name__ == "__main__":
    main()
