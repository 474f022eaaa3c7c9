"""Mapper benchmark: records per second for each import format, on inputs of about 100,000 records.

For the tabular format it writes a synthetic Korean hospital export (bench/korean_export.py, CP949) of
--patients patients (4,000 give about 100,000 rows) and times three stages separately, each over the
whole export:
- map: read, decode and map every row (the pure mapper, diagnosis codes normalized);
- map + validate: the same, each resource validated with fhir.resources (`import --dry-run`);
- import: map, validate and load into a fresh SQLite database through the pipeline, batched
  (`fhir-server import`), and again for the second, unchanged import.

    python bench/mappers.py [--patients 4000]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fhir_server import resources  # noqa: E402
from fhir_server.app import build_context  # noqa: E402
from fhir_server.importing import Importer, open_source  # noqa: E402
from fhir_server.settings import Settings  # noqa: E402
from fhir_server.storage.database import migrate  # noqa: E402
from korean_export import write  # noqa: E402


def _timed(label: str, records: int, run) -> None:
    started = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - started
    print(f"{label:<26} {records:>8} records in {seconds:6.1f} s = {records / seconds:8.0f} records/s"
          + (f"   ({result})" if result else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=4000)
    args = parser.parse_args()
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        export = folder / "export"
        counts = write(args.patients, 11, export)
        rows = sum(counts.values())
        print(f"tabular: korean-hospital export of {args.patients} patients, {rows} rows "
              f"({sum(p.stat().st_size for p in export.iterdir()) / 1e6:.1f} MB, CP949)")
        database = f"sqlite:///{folder / 'fhir.sqlite'}"
        migrate(database)
        context = build_context(Settings(database_url=database, terminology_folder=str(folder / "terminology")))
        normalizer = context.terminology.normalizer
        normalizer.normalize("C50.9")  # load the terminology before timing

        def map_only():
            return f"{sum(1 for _ in open_source('tabular', export, 'korean-hospital', normalizer).results)} results"

        def map_and_validate():
            count = 0
            for result in open_source("tabular", export, "korean-hospital", normalizer).results:
                for resource in getattr(result, "resources", ()):
                    resources.validate(resource)
                    count += 1
            return f"{count} resources"

        def load():
            summary = Importer(context).run(open_source("tabular", export, "korean-hospital", normalizer).results)
            return summary.line()

        _timed("map", rows, map_only)
        _timed("map + validate", rows, map_and_validate)
        _timed("import (SQLite, new)", rows, load)
        _timed("import (SQLite, unchanged)", rows, load)
        context.repository.database.dispose()


if __name__ == "__main__":
    main()
