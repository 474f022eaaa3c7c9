"""Search over a realistic, Synthea-style population (bench/synthetic.py: Korean patients with visits,
KCD diagnoses, LOINC labs, prescriptions, procedures), every answer compared with brute force."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import quote

import pytest

from fhir_server.app import create_app
from fhir_server.settings import Settings
from tests.search import oracle

sys.path.insert(0, str(Path(__file__).parent.parent.parent / "bench"))
from synthetic import bundles  # noqa: E402


@pytest.fixture(scope="module")
def population(module_database_url):
    app = create_app(Settings(database_url=module_database_url, base_url="http://fhir.test/fhir"))
    client = app.test_client()
    for bundle in bundles(6, seed=3, stable_ids=True, per_bundle=3, visits=6):
        response = client.post("/fhir", data=json.dumps(bundle), headers={"Content-Type": "application/fhir+json"})
        assert response.status_code == 200, response.get_data(as_text=True)
    stored = {}
    for resource_type in ("Patient", "Encounter", "Condition", "Observation", "MedicationRequest", "Procedure"):
        url = f"/fhir/{resource_type}?_count=1000"
        for entry in client.get(url).get_json(force=True).get("entry", []):
            stored[f"{resource_type}/{entry['resource']['id']}"] = entry["resource"]
    yield client, stored
    app.extensions["fhir"].repository.database.dispose()


def _patient(stored: dict) -> dict:
    return next(resource for key, resource in sorted(stored.items()) if key.startswith("Patient/"))


QUERIES = [
    ("Observation", "code", "http://loinc.org|4548-4"), ("Observation", "value-quantity", "gt7.5|http://unitsofmeasure.org|%"),
    ("Observation", "date", "ge2018-01-01"), ("Observation", "category", "vital-signs"),
    ("Observation", "code-value-quantity", "http://loinc.org|8480-6$ge150"),
    ("Condition", "code", "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8|I10"), ("Condition", "onset-date", "lt2019"),
    ("Patient", "name", "김"), ("Patient", "address-city", "서울"), ("Patient", "_has:Condition:patient:code", "E11.9"),
    ("MedicationRequest", "code", "643302330"), ("Procedure", "code:text", "위내시경"),
    ("Encounter", "date", "ge2020-01-01"), ("Observation", "encounter.date", "lt2018"),
]


@pytest.mark.parametrize("resource_type, name, value", QUERIES)
def test_population_searches_match_brute_force(population, resource_type, name, value):
    client, stored = population
    response = client.get(f"/fhir/{resource_type}?{name}={quote(value, safe=',|:$')}&_count=1000",
                          headers={"Prefer": "handling=strict"})
    assert response.status_code == 200, response.get_data(as_text=True)
    found = {entry["resource"]["id"] for entry in response.get_json(force=True).get("entry", [])}
    expected = {resource["id"] for key, resource in stored.items() if key.startswith(resource_type + "/")
                and oracle.matches(resource, resource_type, name, value, stored)}
    assert found == expected


def test_a_patients_record_searches_match_brute_force(population):
    client, stored = population
    patient = _patient(stored)
    for resource_type in ("Observation", "Condition", "Encounter"):
        bundle = client.get(f"/fhir/{resource_type}?subject=Patient/{patient['id']}&_count=1000").get_json(force=True)
        expected = {resource["id"] for key, resource in stored.items() if key.startswith(resource_type + "/")
                    and resource["subject"]["reference"] == f"Patient/{patient['id']}"}
        assert {entry["resource"]["id"] for entry in bundle.get("entry", [])} == expected and expected


def test_the_queries_are_not_trivial(population):
    _, stored = population
    sizes = [sum(1 for key, resource in stored.items() if key.startswith(resource_type + "/")
                 and oracle.matches(resource, resource_type, name, value, stored))
             for resource_type, name, value in QUERIES]
    assert sum(1 for size in sizes if size) >= len(QUERIES) - 2, sizes
