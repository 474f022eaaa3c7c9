"""`fhir-server load`: batch and transaction Bundles, or single resources (such as an implementation
guide's SearchParameters), from files, through the same pipeline as HTTP."""

from __future__ import annotations

import json
from pathlib import Path

from werkzeug.datastructures import Headers

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
        body = path.read_bytes()
        request = FhirRequest("POST", "", body=body, base_url=base_url)
        try:
            resource = json.loads(body)
        except ValueError:
            resource = {}  # the pipeline answers a clear 400 for it below
        single = isinstance(resource, dict) and resource.get("resourceType") not in (None, "Bundle")
        if single:  # a resource with an id keeps it, as when an IG's files are loaded
            request = FhirRequest("PUT" if "id" in resource else "POST",
                                  f"{resource['resourceType']}/{resource['id']}" if "id" in resource
                                  else resource["resourceType"], body=body, base_url=base_url,
                                  headers=Headers({"Content-Type": "application/fhir+json"}))
        try:
            response = context.pipeline.handle(request, context)
        except FhirError as error:
            print(f"{path}: failed ({error.status}): {error.message}")
            succeeded = False
            continue
        if single:
            print(f"{path}: {response.status}")
            continue
        statuses = [entry["response"]["status"] for entry in json.loads(response.body)["entry"]]
        counts = {status: statuses.count(status) for status in sorted(set(statuses))}
        print(f"{path}: {len(statuses)} entries: " + ", ".join(f"{n} × {s}" for s, n in counts.items()))
        succeeded &= all(status[0] in "23" for status in statuses)
    context.repository.database.analyze()
    context.repository.database.dispose()
    return succeeded
