"""Terminology benchmark: normalize() throughput on EMR-like diagnosis code streams.

Draws real ICD-10 codes and spells them as EMR exports do (dotless, lower case with spaces, a trailing
filler, a dagger, an over-long subcode, full-width), then times normalize() over:
- a stream of --codes codes where codes repeat as in an EMR (--distinct different codes), cold start;
- the same stream again (every spelling seen before);
- every distinct spelling once, with the per-spelling cache cleared (each code already resolved).

    python bench/terminology.py [--codes 1000000] [--distinct 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from terminology import registry  # noqa: E402
from terminology.normalize import Normalizer  # noqa: E402

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
    print(json.dumps({
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_seconds": round(load_seconds, 2), "codes": args.codes, "distinct_codes": args.distinct,
        "distinct_spellings": len(spellings), "stream_cold_codes_per_second": cold,
        "stream_warm_codes_per_second": warm, "new_spellings_codes_per_second": fresh_spellings,
    }, indent=2))


if __name__ == "__main__":
    main()
