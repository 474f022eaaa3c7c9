"""`_summary` and `_elements`: a subset of each returned resource (https://hl7.org/fhir/R4/search.html#summary).

The one place a stored resource is parsed on a read path, and only when the client asks for a subset.
Subsets are marked with the SUBSETTED tag, as the spec requires.
"""

from __future__ import annotations

from dataclasses import dataclass

from fhir_server import json_codec
from fhir_server.definitions import r4

SUBSETTED = {"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}
_ALWAYS = ("id", "meta")


@dataclass(frozen=True)
class Subset:
    summary: str | None  # true, text or data; None or false for the whole resource
    elements: tuple[str, ...] = ()

    @property
    def whole(self) -> bool:
        return self.summary in (None, "false") and not self.elements


def subset_of(params: list[tuple[str, str]]) -> Subset:
    summary = next((value for name, value in params if name == "_summary"), None)
    elements = tuple(element.strip().split(".")[-1] for name, value in params if name == "_elements"
                     for element in value.split(",") if element.strip())
    return Subset(summary if summary in ("true", "text", "data") else None, elements)


def shape(body: bytes, subset: Subset) -> bytes:
    if subset.whole:
        return body
    resource = json_codec.parse(body)
    resource_type = resource["resourceType"]
    if subset.summary == "data":
        kept = {key: value for key, value in resource.items() if key != "text"}
    else:
        wanted = set(_ALWAYS) | set(r4()["mandatoryElements"].get(resource_type, ()))
        if subset.summary == "true":
            wanted |= set(r4()["summaryElements"].get(resource_type, ()))
        elif subset.summary == "text":
            wanted.add("text")
        wanted |= set(subset.elements)
        kept = {key: value for key, value in resource.items()
                if key == "resourceType" or _element_name(resource_type, key) in wanted}
    meta = dict(kept.get("meta", {}))
    meta["tag"] = [*meta.get("tag", []), SUBSETTED]
    kept["meta"] = meta
    return json_codec.dump(kept)


def _element_name(resource_type: str, key: str) -> str:
    """`valueQuantity` -> `value` where `value[x]` is a choice element of the type."""
    for position in range(1, len(key)):
        if key[position].isupper() and f"{resource_type}.{key[:position]}" in r4()["choiceElements"]:
            return key[:position]
    return key
