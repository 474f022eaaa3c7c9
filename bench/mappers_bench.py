"""Mapper benchmark: records per second for each import format, on inputs of about 100,000 records.

For the tabular format it writes a synthetic Korean hospital export (population/hospital.py, CP949) of
--patients patients (4,000 give about 100,000 rows) and times three stages separately, each over the
whole export:
- map: read, decode and map every row (the pure mapper, diagnosis codes normalized);
- map + validate: the same, each resource validated with fhir.resources (`import --dry-run`);
- import: map, validate and load into a fresh SQLite database through the pipeline, batched
  (`fhir-server import`), and again for the second, unchanged import.

For OMOP it writes --omop-copies copies of the shipped Synthea27 CDM (23,000 rows each; ids shifted per copy)
as CSV files and times map and import.

For VCF it writes a synthetic annotated file of --variants lines for two samples (linked to two of the
imported patients by registration number), every sample carrying every variant, and times the same stages.

For HL7 v2 it writes --messages ORU^R01 messages (a PID, a PV1, an OBR and three OBX each; a new patient every
ten) into one file and times map and import.

    python bench/mappers_bench.py [--patients 4000] [--omop-copies 5] [--variants 50000] [--messages 25000]
                            [--formats tabular,omop,vcf,hl7v2]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fhir_server import resources  # noqa: E402
from fhir_server.app import build_context  # noqa: E402
from fhir_server.import_sources import Options, open_source  # noqa: E402
from fhir_server.importing import Importer  # noqa: E402
from fhir_server.settings import Settings  # noqa: E402
from fhir_server.storage.database import migrate  # noqa: E402
from population.hospital import write  # noqa: E402


def _timed(label: str, records: int, run) -> None:
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    print(f"{label:<26} {records:>8} records in {seconds:6.1f} s = {records / seconds:8.0f} records/s"
          + (f"   ({result})" if result else ""))


def write_vcf(path: Path, variants: int, seed: int = 3) -> None:
    """An annotated VCF 4.2 for two samples, as a sequencing pipeline writes one (snpEff ANN, AD, DP)."""
    r = random.Random(seed)
    genes = ["BRCA1", "BRCA2", "TP53", "EGFR", "KRAS", "APC", "MLH1", "PTEN"]
    with path.open("w") as out:
        out.write("##fileformat=VCFv4.2\n##reference=GRCh38\n"
                  '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations">\n'
                  "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\tS2\n")
        position = 10_000
        for number in range(variants):
            position += r.randint(50, 5000)
            reference, alternate = r.sample("ACGT", 2)
            gene = r.choice(genes)
            depth = r.randint(20, 200)
            alt_depth = r.randint(5, depth)
            call = f"{r.choice(['0/1', '1/1'])}:{depth}:{depth - alt_depth},{alt_depth}"
            out.write(f"chr{number % 22 + 1}\t{position}\trs{number + 1000}\t{reference}\t{alternate}\t"
                      f"{r.randint(30, 900)}\tPASS\tANN={alternate}|missense_variant|MODERATE|{gene}|ENSG1|"
                      f"transcript|NM_{number:06d}.1|protein_coding|1/1|c.{number % 900 + 1}{reference}>{alternate}|"
                      f"p.Gly{number % 300 + 1}Asp\tGT:DP:AD\t{call}\t{call}\n")


OMOP_SAMPLE = Path(__file__).resolve().parent.parent / "mappers" / "omop" / "samples" / "synthea27"
_NOT_SHIFTED = ("provider_id", "care_site_id", "location_id", "visit_detail_id")


def write_omop(folder: Path, copies: int) -> int:
    """``copies`` copies of the sample CDM, every key and reference shifted by a million per copy."""
    folder.mkdir()
    rows = 0
    for path in OMOP_SAMPLE.glob("*.csv"):
        with path.open(newline="") as source, (folder / path.name).open("w", newline="") as target:
            reader, writer = csv.reader(source), csv.writer(target)
            header = next(reader)
            writer.writerow(header)
            shifted = [index for index, column in enumerate(header) if column.endswith("_id")
                       and not column.endswith("concept_id") and column not in _NOT_SHIFTED]
            original = list(reader)
            for copy in range(1 if path.stem == "CONCEPT" else copies):
                for row in original:
                    writer.writerow([str(int(value) + copy * 1_000_000) if index in shifted and value.isdigit()
                                     else value for index, value in enumerate(row)])
                    rows += path.stem != "CONCEPT"
    return rows


def write_hl7(path: Path, messages: int, seed: int = 5) -> None:
    r = random.Random(seed)
    tests = [("2345-7", "Glucose", "mg/dL", 70, 200), ("718-7", "Hemoglobin", "g/dL", 9, 17),
             ("2160-0", "Creatinine", "mg/dL", 0.5, 1.8), ("4548-4", "HbA1c", "%", 4.5, 9.5)]
    with path.open("w", encoding="utf-8", newline="") as out:
        for number in range(messages):
            patient = f"{number // 10:08d}"
            stamp = f"2024{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 23):02d}{r.randint(0, 59):02d}00"
            segments = [f"MSH|^~\\&|LIS|HOSP|FHIR|HOSP|{stamp}+0900||ORU^R01^ORU_R01|M{number}|P|2.5.1",
                        f"PID|1||{patient}^^^HOSP^MR||김^민준||19700101|M",
                        f"PV1|1|O|||||||||||||||||V{patient}-{number % 10}^^^HOSP^VN",
                        f"OBR|1|P{number}|F{number}|24323-8^Metabolic panel^LN|||{stamp}"]
            for index, (code, name, unit, low, high) in enumerate(r.sample(tests, 3), start=1):
                segments.append(f"OBX|{index}|NM|{code}^{name}^LN||{round(r.uniform(low, high), 1)}|"
                                f"{unit}^{unit}^UCUM|{low}-{high}||||F")
            out.write("\r".join(segments) + "\r\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=4000)
    parser.add_argument("--variants", type=int, default=50_000, help="VCF lines; two samples each")
    parser.add_argument("--omop-copies", type=int, default=5, help="copies of the 23,000-row sample CDM")
    parser.add_argument("--messages", type=int, default=25_000, help="HL7 v2 ORU^R01 messages")
    parser.add_argument("--formats", default="tabular,omop,vcf,hl7v2", help="which formats to time")
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        database = f"sqlite:///{folder / 'fhir.sqlite'}"
        migrate(database)
        context = build_context(Settings(database_url=database, terminology_folder=str(folder / "terminology")))
        context.terminology.normalizer.normalize("C50.9")  # load the terminology before timing
        stages = {"tabular": _tabular, "omop": _omop, "vcf": _vcf, "hl7v2": _hl7v2}
        for name in args.formats.split(","):
            stages[name](context, folder, args)
        context.repository.database.dispose()


def _imports(context, label_rows: int, results, again: bool = False) -> None:
    _timed("map", label_rows, lambda: f"{sum(1 for _ in results())} results")
    _timed("import (SQLite, new)", label_rows, lambda: Importer(context).run(results()).line())
    if again:
        _timed("import (SQLite, unchanged)", label_rows, lambda: Importer(context).run(results()).line())


def _tabular(context, folder: Path, args) -> None:
    export = folder / "export"
    counts = write(args.patients, 11, export)
    counts.pop("genomes")  # the genome files are the VCF benchmark's business
    rows = sum(counts.values())
    print(f"tabular: korean-hospital export of {args.patients} patients, {rows} rows "
          f"({sum(p.stat().st_size for p in export.iterdir()) / 1e6:.1f} MB, CP949)")

    def results():
        return open_source("tabular", export, context, Options(spec="korean-hospital")).results

    def map_and_validate():
        count = 0
        for result in results():
            for resource in getattr(result, "resources", ()):
                resources.validate(resource)
                count += 1
        return f"{count} resources"

    _timed("map + validate", rows, map_and_validate)
    _imports(context, rows, results, again=True)


def _omop(context, folder: Path, args) -> None:
    cdm = folder / "cdm"
    rows = write_omop(cdm, args.omop_copies)
    print(f"omop: {args.omop_copies} copies of the Synthea27 CDM as CSV, {rows} rows")
    _imports(context, rows, lambda: open_source("omop", cdm, context).results)


def _vcf(context, folder: Path, args) -> None:
    vcf, samples = folder / "bench.vcf", folder / "samples.csv"
    write_vcf(vcf, args.variants)
    with context.transaction() as transaction:
        for patient in ("vcf-1", "vcf-2"):
            transaction.session.update({"resourceType": "Patient", "id": patient}, patient)
    samples.write_text("sample,patient\nS1,Patient/vcf-1\nS2,Patient/vcf-2\n")
    calls = 2 * args.variants
    print(f"vcf: {args.variants} annotated variant lines, two samples: {calls} calls "
          f"({vcf.stat().st_size / 1e6:.1f} MB)")
    _imports(context, calls, lambda: open_source("vcf", vcf, context, Options(samples=str(samples))).results,
             again=True)


def _hl7v2(context, folder: Path, args) -> None:
    path = folder / "messages.hl7"
    write_hl7(path, args.messages)
    print(f"hl7v2: {args.messages} ORU^R01 messages, 3 results each ({path.stat().st_size / 1e6:.1f} MB)")
    _imports(context, args.messages, lambda: open_source("hl7v2", path, context).results)


if __name__ == "__main__":
    main()
