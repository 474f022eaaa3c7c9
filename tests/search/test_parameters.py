"""Union parameters: which parameters are the union of others, and that searching their parts' rows gives exactly
the rows their own expression extracts."""

from __future__ import annotations

import json
from pathlib import Path

from fhir_server import resources
from fhir_server.definitions import r4
from fhir_server.search.index import SearchIndex
from fhir_server.search.parameters import Registry, unions

EXAMPLES = Path(__file__).parent.parent / "data" / "r4-examples"
TYPES = resources.supported_resource_types()


def _r4_registry(extra: list[dict] = ()) -> Registry:
    return Registry(list(extra) + r4()["searchParameters"], TYPES)


def test_the_r4_unions_are_observations_combo_parameters():
    # From the R4 search parameter table of Observation: each combo-* expression is `X | component.X`.
    expected = {"Observation": {
        "combo-code": ("code", "component-code"),
        "combo-code-value-concept": ("code-value-concept", "component-code-value-concept"),
        "combo-code-value-quantity": ("code-value-quantity", "component-code-value-quantity"),
        "combo-data-absent-reason": ("component-data-absent-reason", "data-absent-reason"),
        "combo-value-concept": ("component-value-concept", "value-concept"),
        "combo-value-quantity": ("component-value-quantity", "value-quantity")}}
    registry = _r4_registry()
    found = {resource_type: unions(registry.for_type(resource_type), resource_type) for resource_type in TYPES}
    assert {resource_type: found_here for resource_type, found_here in found.items() if found_here} == expected


def _parameter(code: str, expression: str, kind: str = "token", targets=()) -> dict:
    return {"url": f"http://example.org/SearchParameter/{code}", "code": code, "base": ["Patient"], "type": kind,
            "expression": expression, "target": list(targets)}


def test_only_a_top_level_union_of_alike_parameters_is_one():
    registry = Registry([
        _parameter("a", "Patient.gender"), _parameter("b", "Patient.maritalStatus"),
        _parameter("a-or-b", "Patient.gender | Patient.maritalStatus"),
        _parameter("filtered", "(Patient.gender | Patient.maritalStatus).where(true)"),
        _parameter("part-missing", "Patient.gender | Patient.language"),
        _parameter("s", "Patient.name.family", "string"), _parameter("mixed", "Patient.gender | Patient.name.family"),
        _parameter("r1", "Patient.generalPractitioner", "reference", ["Practitioner"]),
        _parameter("r2", "Patient.managingOrganization", "reference", ["Practitioner"]),
        _parameter("r-union", "Patient.generalPractitioner | Patient.managingOrganization", "reference", ["Practitioner"]),
        _parameter("quoted", "Patient.gender | Patient.extension('a|b')"),
        # A union of a union and another: its parts are the ones with rows of their own.
        _parameter("c", "Patient.communication.language"),
        _parameter("all-three", "Patient.gender | Patient.maritalStatus | Patient.communication.language"),
    ], ("Patient",))
    assert unions(registry.for_type("Patient"), "Patient") == {"a-or-b": ("a", "b"), "all-three": ("a", "b", "c")}


def _observations() -> list[dict]:
    return [resource for resource in (json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json")))
            if resource["resourceType"] == "Observation"]


def _keyed(rows: dict[str, list[dict]], codes: set[str]) -> set[tuple]:
    return {(table, row["param"], tuple(sorted((key, value) for key, value in row.items() if key != "param")))
            for table, table_rows in rows.items() for row in table_rows if row["param"] in codes}


def test_a_unions_rows_are_exactly_what_its_own_expression_extracts():
    index = SearchIndex(_r4_registry(), TYPES)
    union_codes = set(unions(_r4_registry().for_type("Observation"), "Observation"))
    # A registry of the combo parameters alone has no parts to join, so it extracts each from its own expression.
    alone = SearchIndex(Registry([definition for definition in r4()["searchParameters"]
                                  if definition["code"] in union_codes], TYPES), TYPES)
    codes = union_codes | {f"{code}:of-type" for code in union_codes}
    compared = 0
    for observation in _observations():
        stored = index.rows("Observation", observation["id"], observation)
        assert not _keyed(stored, codes), "a union parameter's rows are stored"
        direct = _keyed(alone.rows("Observation", observation["id"], observation), codes)
        assert _keyed(index.with_unions("Observation", stored), codes) == direct, observation["id"]
        compared += len(direct)
    assert compared > 100  # the examples have codes, components and values to compare


def test_a_union_of_identifiers_joins_their_of_type_rows_too():
    a, b = _parameter("a", "Patient.identifier"), _parameter("b", "Patient.generalPractitioner.identifier")
    union = _parameter("a-or-b", "Patient.identifier | Patient.generalPractitioner.identifier")
    mr = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}
    patient = {"resourceType": "Patient", "id": "p", "identifier": [{"type": mr, "system": "urn:a", "value": "1"}],
               "generalPractitioner": [{"identifier": {"type": mr, "system": "urn:b", "value": "2"}}]}
    index, alone = SearchIndex(Registry([a, b, union], ("Patient",)), ("Patient",)), \
        SearchIndex(Registry([union], ("Patient",)), ("Patient",))
    codes = {"a-or-b", "a-or-b:of-type"}
    stored = index.rows("Patient", "p", patient)
    direct = _keyed(alone.rows("Patient", "p", patient), codes)
    assert not _keyed(stored, codes) and len(direct) == 4
    assert _keyed(index.with_unions("Patient", stored), codes) == direct
    assert index.stored_codes("Patient", "a-or-b:of-type") == ("a:of-type", "b:of-type")
