"""One row of a table, read: the resource id its key gives and the values of the elements the spec names."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Record:
    id: str
    values: dict[str, object] = field(default_factory=dict)  # element -> value; absent when the cell is empty

    def get(self, element: str, default: object = None) -> object:
        return self.values.get(element, default)

    def has(self, *elements: str) -> bool:
        return any(element in self.values for element in elements)


def concept(value: object) -> dict | None:
    """A CodeableConcept from a coded value (codings, already a concept) or a code system's code."""
    return value if value is None or isinstance(value, dict) else {"coding": value}


def period(start: object, end: object) -> dict | None:
    found = {key: value for key, value in (("start", start), ("end", end)) if value is not None}
    return found or None


def compact(resource: dict) -> dict:
    """Leave out elements without a value: FHIR forbids empty objects and arrays."""
    return {key: value for key, value in resource.items() if value not in (None, {}, [])}
