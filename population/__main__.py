"""python -m population: write a synthetic Korean hospital population in any of its formats.

    python -m population --patients 20 --seed 7 --formats bundles --out data/demo
    python -m population --patients 10000 --formats tabular,ndjson --out /tmp/population

``tabular`` writes the EMR export (`OUT/tabular`, CP949 CSV for `fhir-server import tabular --spec
korean-hospital`, with `genomes/` for `fhir-server import vcf`); ``ndjson`` writes `OUT/ndjson/{Type}.ndjson`
(`fhir-server import ndjson`, `$import`); ``bundles`` writes transaction Bundles into `OUT/bundles` (`fhir-server
load`, `POST /fhir`); ``kcd`` writes the KCD codes used with their Korean names into `OUT/kcd/kcd.csv`
(`fhir-server load-terminology kcd`). With one format, OUT itself holds it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from population import fhir, hospital

FORMATS = ("tabular", "ndjson", "bundles", "kcd")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m population", description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100, help="how many patients (default 100)")
    parser.add_argument("--seed", type=int, default=1, help="the same seed always gives the same population")
    parser.add_argument("--formats", default="ndjson", help=f"comma-separated: {', '.join(FORMATS)}")
    parser.add_argument("--per-bundle", type=int, default=500, help="entries per transaction Bundle")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    unknown = [name for name in formats if name not in FORMATS]
    if unknown or not formats:
        parser.error(f"--formats takes {', '.join(FORMATS)}")

    several = len(formats) > 1

    def place(name: str) -> Path:
        return args.out / name if several else args.out

    if "kcd" in formats:
        from terminology.systems import icd10

        classification = icd10.load()
        written = hospital.write_kcd(place("kcd"), lambda code: getattr(classification.get(code), "display", None))
        print(f"{place('kcd')}: {written} KCD codes")
        formats.remove("kcd")
        if not formats:
            return 0
    with tempfile.TemporaryDirectory() as scratch:
        export = place("tabular") if "tabular" in formats else Path(scratch) / "tabular"
        counts = hospital.write(args.patients, args.seed, export)
        print(f"{export}: " + ", ".join(f"{count} {name}" for name, count in counts.items()))
        for name in (name for name in formats if name != "tabular"):
            rejected: list = []
            resources = fhir.resources(export, _normalizer(), rejected)
            if name == "ndjson":
                written = fhir.write_ndjson(resources, place(name))
                print(f"{place(name)}: {sum(written.values())} resources: "
                      + ", ".join(f"{count} {kind}" for kind, count in sorted(written.items())))
            else:
                print(f"{place(name)}: {fhir.write_bundles(resources, place(name), args.per_bundle)} resources in "
                      "transaction Bundles")
            for reject in rejected:
                print(f"not mapped: {reject.source}: {reject.reason}", file=sys.stderr)
            if rejected:
                return 1
    return 0


def _normalizer():
    from terminology import registry
    from terminology.normalize import Normalizer

    return Normalizer(registry.load())


if __name__ == "__main__":
    sys.exit(main())
