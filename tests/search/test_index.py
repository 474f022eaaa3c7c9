"""Index extraction over the official R4 examples: a parameter skipped because its expression starts from none of
a resource's elements (its ``roots``) has no rows when it is evaluated all the same, also with any one element taken
away; and the rows extracted before a write, from the resource as given, are those of the resource as served."""

from __future__ import annotations

import json
from pathlib import Path

from fhir_server import resources
from fhir_server.definitions import r4
from fhir_server.search import index as index_module
from fhir_server.search.index import TYPES, SearchIndex
from fhir_server.search.parameters import Registry
from fhir_server.storage.served import with_server_fields

EXAMPLES = Path(__file__).parent.parent / "data" / "r4-examples"


def _index() -> SearchIndex:
    types = resources.supported_resource_types()
    return SearchIndex(Registry(r4()["searchParameters"], types), types)


def _examples() -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))]


def _variants(resource: dict):
    yield resource
    for key in resource:
        if key not in ("resourceType", "id"):
            yield {name: value for name, value in resource.items() if name != key}


def test_a_parameter_skipped_for_its_roots_has_no_rows():
    index = _index()
    skipped, lost = 0, []
    composites_skipped = set()
    for example in _examples():
        for resource in _variants(example):
            for code, kind, extract in index._of(resource["resourceType"]).extractors:
                if extract.roots is None or not resource.keys().isdisjoint(extract.roots):
                    continue
                skipped += 1
                rows = [row for item in extract(resource) for row in TYPES[kind].index(item)]
                if rows:
                    lost.append((example["id"], code))
                if kind == "composite":
                    composites_skipped.add((resource["resourceType"], code))
    assert lost == []
    assert skipped > 10_000
    # The composites' roots are computed from their components (the whole resource is their element).
    assert {("Observation", "code-value-quantity"), ("Observation", "code-value-concept"),
            ("Observation", "component-code-value-quantity")} <= composites_skipped


def test_rows_before_a_write_are_those_of_the_resource_as_served():
    index = _index()
    for example in _examples():
        served = with_server_fields(example, "served-id", 7, 1_764_590_000_123)
        expected = index.rows(example["resourceType"], example["id"], served)
        assert index.rows_before_write(example) == expected, example["id"]
        created = {key: value for key, value in example.items() if key != "id"}
        assert index.rows_before_write(created) == index.rows(example["resourceType"], "", served)


def test_rows_do_not_depend_on_the_resources_indexed_before(monkeypatch):
    """Which extractors a resource needs is remembered per type for each set of top-level keys, up to a bound."""
    monkeypatch.setattr(index_module, "_KEY_SHAPES", 3)
    remembering, forgetting = _index(), _index()
    for example in _examples():
        for resource in _variants(example):
            forgetting._of(resource["resourceType"])._by_keys.clear()
            expected = forgetting.rows_before_write(resource)
            assert remembering.rows_before_write(resource) == expected, example["id"]  # first met, or past the bound
            assert remembering.rows_before_write(resource) == expected, example["id"]  # from memory, within it
    assert len(remembering._of("Observation")._by_keys) == 3
