"""composite parameters (https://hl7.org/fhir/R4/search.html#composite): ``code-value-quantity=loinc|8480-6$gt140``.

The components of one composite value must match within the same element (one Observation, or one
of its components), so each element is indexed as one row of ``search_composite`` that holds every
component in a numbered slot. A slot offers the columns its component's type needs under that
type's own names (``COLUMNS``), so each type's matching rules apply unchanged.

Token ``:of-type`` (``identifier:of-type=type-system|type-code|value``) is the same shape: the
identifier's type coding and its value in one row.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from fhir_server.errors import BadRequest

SLOTS = 3  # the most components any R4 composite has (MolecularSequence's coordinates)
SLOT_COLUMNS = ("system", "code", "text", "number", "low", "high", "unit")
# Per component type: the name its conditions use -> the slot column that holds it.
COLUMNS = {
    "token": {"system": "system", "code": "code", "text": "text"},
    "quantity": {"value": "number", "system": "system", "code": "code", "unit": "unit"},
    "number": {"value": "number"},
    "date": {"low": "low", "high": "high"},
    "string": {"value": "text", "exact": "code"},
    "reference": {"url": "text", "target_type": "system", "target_id": "code"},
    "uri": {"value": "text"},
}


@dataclass(frozen=True)
class CompositeValue:
    """One search value: (component type, parsed value) per component, in the definition's order."""

    parts: tuple[tuple[str, object], ...]


def column(slot: int, name: str) -> str:
    return f"c{slot}_{name}"


def index(item) -> list[dict]:
    """One row per combination of the index rows of one element's components, each in its slot.

    The item holds (type, index rows) per component; an element lacking a component yields no row."""
    components = item[0]
    slots = [_SLOT_NAMES[slot][kind] for slot, (kind, _) in enumerate(components)]
    rows = []
    for combination in itertools.product(*(values for _, values in components)):
        row = dict(_EMPTY_ROW)
        for names, values in zip(slots, combination):
            for name, physical in names:
                row[physical] = values.get(name)
        rows.append(row)
    return rows


# Built once: composite rows are the most numerous index rows of an Observation.
_EMPTY_ROW = {column(slot, name): None for slot in range(1, SLOTS + 1) for name in SLOT_COLUMNS}
_SLOT_NAMES = [{kind: tuple((name, column(slot, physical)) for name, physical in names.items())
                for kind, names in COLUMNS.items()} for slot in range(1, SLOTS + 1)]


def split(raw: str, count: int, code: str) -> list[str]:
    r"""The ``$``-separated parts of a composite value (``\$`` is a literal dollar)."""
    parts, current, escaped = [], [], False
    for character in raw:
        if escaped:
            current.append(character if character == "$" else "\\" + character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == "$":
            parts.append("".join(current))
            current = []
        else:
            current.append(character)
    parts.append("".join(current) + ("\\" if escaped else ""))
    if len(parts) != count or not all(parts):
        raise BadRequest(f"`{code}={raw}` needs {count} `$`-separated values, one per component.",
                         expression=(code,))
    return parts
