"""Index extraction skips a parameter whose expression starts from none of a resource's elements (its ``roots``):
over the official R4 examples, and each of them with one element taken away, a skipped parameter has no rows when
it is evaluated all the same."""

from __future__ import annotations

import json
from pathlib import Path

from fhir_server import resources
from fhir_server.definitions import r4
from fhir_server.search.index import TYPES, SearchIndex
from fhir_server.search.parameters import Registry

EXAMPLES = Path(__file__).parent.parent / "data" / "r4-examples"


def _variants(resource: dict):
    yield resource
    for key in resource:
        if key not in ("resourceType", "id"):
            yield {name: value for name, value in resource.items() if name != key}


def test_a_parameter_skipped_for_its_roots_has_no_rows():
    types = resources.supported_resource_types()
    index = SearchIndex(Registry(r4()["searchParameters"], types), types)
    skipped, lost = 0, []
    composites_skipped = set()
    for path in sorted(EXAMPLES.glob("*.json")):
        example = json.loads(path.read_text())
        for resource in _variants(example):
            for code, kind, extract in index._of(resource["resourceType"]).extractors:
                if extract.roots is None or not resource.keys().isdisjoint(extract.roots):
                    continue
                skipped += 1
                rows = [row for item in extract(resource) for row in TYPES[kind].index(item)]
                if rows:
                    lost.append((path.name, code))
                if kind == "composite":
                    composites_skipped.add((resource["resourceType"], code))
    assert lost == []
    assert skipped > 10_000
    # The composites' roots are computed from their components (the whole resource is their element).
    assert {("Observation", "code-value-quantity"), ("Observation", "code-value-concept"),
            ("Observation", "component-code-value-quantity")} <= composites_skipped
