"""`fhir-server deidentify PROJECT_FILE OUT`: an approved project's cohort, de-identified (``deidentify.py``),
as one NDJSON file per type. The cohort's patients are found by the search backend; their resources are read
a few hundred patients at a time, each resource de-identified with its patient's date shift."""

from __future__ import annotations

import datetime
from pathlib import Path

from fhir_server import json_codec
from fhir_server.cohorts import definition as cohort_definition
from fhir_server.cohorts import service
from fhir_server.cohorts.deidentify import Deidentifier, Project
from fhir_server.search import compartments
from fhir_server.search.query import Criterion, SearchQuery

_PATIENTS_PER_READ = 200


def export(context, project: Project, key: bytes, folder: Path, today: datetime.date | None = None) -> dict[str, int]:
    """Write the project's files into ``folder``; the number of resources written per type."""
    definition = cohort_definition.load(project.cohort, context.terminology)
    deidentifier = Deidentifier(project, key, today or datetime.date.today())
    folder.mkdir(parents=True, exist_ok=True)
    written = {kind: 0 for kind in project.types}
    files = {kind: (folder / f"{kind}.ndjson").open("wb") for kind in project.types}
    try:
        with context.reading() as connection:
            patients = service.members(context, connection, definition).member_ids()
            for start in range(0, len(patients), _PATIENTS_PER_READ):
                chunk = patients[start:start + _PATIENTS_PER_READ]
                for kind in project.types:
                    for resource, patient in _resources(context, connection, kind, chunk):
                        files[kind].write(json_codec.dump(deidentifier.resource(resource, patient)) + b"\n")
                        written[kind] += 1
    finally:
        for file in files.values():
            file.close()
    return written


def _resources(context, connection, kind: str, patients: list[str]):
    """(resource, its patient's id) for the ``kind`` resources in these patients' compartments."""
    owners = Criterion("_id", "id", None, tuple(patients))
    query = SearchQuery(kind, [compartments.membership_of_any("Patient", owners, kind)])
    members = set(patients)
    for version, _ in context.search.search_database(connection, query, limit=10 ** 9):
        resource = json_codec.parse(version.body)
        yield resource, _patient_of(resource, members)


def _patient_of(resource: dict, members: set[str]) -> str:
    """The cohort patient a resource belongs to: itself, or the first member it refers to."""
    if resource["resourceType"] == "Patient":
        return resource["id"]
    stack = [resource]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            reference = value.get("reference")
            if isinstance(reference, str) and reference.startswith("Patient/") and reference[8:] in members:
                return reference[8:]
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return ""
