"""Reading FHIR NDJSON (https://hl7.org/fhir/R4/nd-json.html), the format of bulk data: one resource per line.

Each non-blank line is one record, a :class:`Line`: a resource to load, or a reject with its file and line (a
line that is not JSON, not a resource, or not of the type its input declared). A line is parsed where it is
validated, in the importer's validation workers (``validation.py``), so the importing process, which stores one
batch at a time, neither parses nor serializes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from fhir_server import json_codec
from fhir_server.errors import BadRequest
from mappers.base import Mapped, Rejected, Source

SUFFIXES = (".ndjson", ".jsonl")


def files(path: Path) -> list[Path]:
    """The file, or a folder's NDJSON files in name order."""
    if path.is_dir():
        return sorted(item for item in path.rglob("*") if item.is_file() and item.name.endswith(SUFFIXES))
    return [path]


@dataclass(frozen=True, slots=True)
class Line:
    """One non-blank line of a file, as read: :func:`parsed` tells what it holds."""

    source: Source
    text: bytes
    resource_type: str | None = None  # the type the input declared, if it did

    def __reduce__(self):
        # Sent to a validation worker: the pickling that slots give a frozen dataclass looks its fields up for
        # every object, 5 us a line in the importing process.
        return Line, (self.source, self.text, self.resource_type)


def read(path: Path, name: str, resource_type: str | None = None) -> Iterator[Line]:
    """The records of one file; ``resource_type``: the type every line must hold, if the input declared one."""
    with path.open("rb") as lines:
        for number, line in enumerate(lines, 1):
            if line.strip():
                yield Line(Source(name, number), line, resource_type)


def parsed(line: Line) -> Mapped | Rejected:
    """The line's resource, or why the line is not one (of the declared type)."""
    try:
        resource = json_codec.parse(line.text)
    except BadRequest as error:
        return Rejected(line.source, error.message.replace("The request body", "The line"))
    if not isinstance(resource, dict) or not isinstance(resource.get("resourceType"), str):
        return Rejected(line.source, "The line is not a FHIR resource: a JSON object with a `resourceType`.",
                        "resourceType")
    if line.resource_type is not None and resource["resourceType"] != line.resource_type:
        return Rejected(line.source, f"The line holds a `{resource['resourceType']}`, but the input declared "
                                     f"`{line.resource_type}` resources.", "resourceType")
    return Mapped(line.source, [resource])
