"""Reading FHIR NDJSON (https://hl7.org/fhir/R4/nd-json.html), the format of bulk data: one resource per line.

Each non-blank line is one record: a resource to load, or a reject with its file and line (a line that is not
JSON, not a resource, or not of the type its input declared). Validation happens where every write is
validated, in the importer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from fhir_server import json_codec
from fhir_server.errors import BadRequest
from mappers.base import Mapped, Rejected, Result, Source

SUFFIXES = (".ndjson", ".jsonl")


def files(path: Path) -> list[Path]:
    """The file, or a folder's NDJSON files in name order."""
    if path.is_dir():
        return sorted(item for item in path.rglob("*") if item.is_file() and item.name.endswith(SUFFIXES))
    return [path]


def read(path: Path, name: str, resource_type: str | None = None) -> Iterator[Result]:
    """The records of one file; ``resource_type``: the type every line must hold, if the input declared one."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield _record(line, Source(name, number), resource_type)


def _record(line: bytes, source: Source, resource_type: str | None) -> Result:
    try:
        resource = json_codec.parse(line)
    except BadRequest as error:
        return Rejected(source, error.message.replace("The request body", "The line"))
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return Rejected(source, "The line is not a FHIR resource: a JSON object with a `resourceType`.",
                        "resourceType")
    if resource_type is not None and resource["resourceType"] != resource_type:
        return Rejected(source, f"The line holds a `{resource['resourceType']}`, but the input declared "
                                f"`{resource_type}` resources.", "resourceType")
    return Mapped(source, [resource])
