"""Cohort benchmark: latency of a three-criterion cohort count (`Group/$cohort-count` through the Flask app,
the privacy policy included) over the synthetic hospital population, at several sizes, on SQLite or PostgreSQL.

Writes the population with `python -m population` (about 25 resources per patient), imports it as
`fhir-server import ndjson` does (which analyzes the tables after a large load), then asks each question
--repeat times after one warm-up: p50 and p95 in milliseconds.

    python bench/cohorts.py --patients 1000,10000 [--database-url URL]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

E11 = {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}
QUESTIONS = {
    "three criteria (diagnosis, sex, lab > 7%)": {"criteria": {"and": [
        E11, {"sex": "female"}, {"lab": {"code": "4548-4", "comparator": ">", "value": 7, "unit": "%"}}]}},
    "three criteria, lab within 90 days of diagnosis": {"index": E11, "criteria": {"and": [
        {"age": {"min": 40, "at": "index"}}, {"sex": "female"},
        {"lab": {"code": "4548-4", "comparator": ">", "value": 7, "within": {"fromDays": 0, "toDays": 90}}}]}},
    "rare diseases, with sex and age-band breakdowns": {"criteria": {"diagnosis": {
        "valueSet": "http://fhir-server.kr/ValueSet/rare-diseases"}}},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", default="1000,10000", help="population sizes, comma-separated")
    parser.add_argument("--database-url", help="an empty PostgreSQL database; default: a fresh SQLite file per size")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    for size in (int(each) for each in args.patients.split(",")):
        with tempfile.TemporaryDirectory() as scratch:
            _run(size, Path(scratch), args)


def _run(size: int, scratch: Path, args) -> None:
    from fhir_server.app import build_context, create_app
    from fhir_server.import_sources import open_source
    from fhir_server.importing import Importer
    from fhir_server.settings import Settings
    from fhir_server.storage.database import migrate
    from fhir_server.terminology_publish import publish_index
    from population.__main__ import main as population

    population(["--patients", str(size), "--seed", "5", "--formats", "ndjson", "--out", str(scratch / "ndjson")])
    url = args.database_url or f"sqlite:///{scratch / 'fhir.sqlite'}"
    migrate(url)
    settings = Settings(database_url=url, terminology_folder=str(scratch / "terminology"), cohort_budget=1e12,
                        cohort_noise_key_file=str(scratch / "noise.key"))
    context = build_context(settings)
    publish_index(context)
    started = time.perf_counter()
    summary = Importer(context).run(open_source("ndjson", scratch / "ndjson", context).results)
    loaded = time.perf_counter() - started
    print(f"\n## {size} patients, {summary.created} resources ({loaded:.0f} s to import), {url.split(':')[0]}")
    context.repository.database.dispose()
    app = create_app(settings)
    client = app.test_client()
    for name, definition in QUESTIONS.items():
        breakdowns = ["sex", "age-band"] if "breakdowns" in name else []
        body = {"resourceType": "Parameters", "parameter": [
            {"name": "definition", "valueString": json.dumps(definition)},
            *({"name": "breakdown", "valueCode": each} for each in breakdowns)]}
        timings = []
        for attempt in range(args.repeat + 1):
            started = time.perf_counter()
            response = client.post("/fhir/Group/$cohort-count", json=body)
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200, response.get_data(as_text=True)
            if attempt:
                timings.append(elapsed)
        count = next(p for p in response.get_json()["parameter"] if p["name"] == "count")
        shown = count.get("valueInteger", count.get("valueString"))
        p95 = sorted(timings)[max(0, int(len(timings) * 0.95) - 1)]
        print(f"| {name} | {shown} | {statistics.median(timings):.1f} | {p95:.1f} |")
    app.extensions["fhir"].repository.database.dispose()
    if args.database_url:  # leave the given database empty for the next size
        from sqlalchemy import create_engine
        from fhir_server.storage.tables import metadata
        engine = create_engine(args.database_url)
        metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        engine.dispose()


if __name__ == "__main__":
    main()
