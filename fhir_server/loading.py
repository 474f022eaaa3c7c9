"""`fhir-server load`: batch and transaction Bundles from files, through the same pipeline as HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from fhir_server.app import build_context
from fhir_server.errors import FhirError
from fhir_server.pipeline import FhirRequest
from fhir_server.settings import Settings


def bundle_files(paths: list[Path]) -> list[Path]:
    files = []
    for path in paths:
        files.extend(sorted(path.glob("*.json")) if path.is_dir() else [path])
    return files


def load_bundles(settings: Settings, paths: list[Path]) -> bool:
    """Load every Bundle file; print one line per file; False if any failed."""
    context = build_context(settings)
    base_url = settings.base_url or f"http://{settings.host}:{settings.port}/fhir"
    succeeded = True
    for path in bundle_files(paths):
        request = FhirRequest("POST", "", body=path.read_bytes(), base_url=base_url)
        try:
            response = context.pipeline.handle(request, context)
        except FhirError as error:
            print(f"{path}: failed ({error.status}): {error.message}")
            succeeded = False
            continue
        statuses = [entry["response"]["status"] for entry in json.loads(response.body)["entry"]]
        counts = {status: statuses.count(status) for status in sorted(set(statuses))}
        print(f"{path}: {len(statuses)} entries: " + ", ".join(f"{n} × {s}" for s, n in counts.items()))
        succeeded &= all(status[0] in "23" for status in statuses)
    context.repository.database.dispose()
    return succeeded
