"""The search backend contract: every answer equals a brute-force evaluation over the raw JSON.

The same cases will run against every backend (Elasticsearch included). Expected ids come from
``oracle.py``, which evaluates the official expressions with fhirpathpy, not through the index.
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fhir_server.app import create_app
from fhir_server.settings import Settings
from fhir_server.definitions import r4
from tests.conftest import close, elasticsearch_settings, fresh_database
from tests.fhir_client import last_page_url, pages
from tests.search import oracle

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
V2_0203 = "http://terminology.hl7.org/CodeSystem/v2-0203"
FAMILIES = ["Müller", "Mueller", "müller", "김", "김민서", "Smith", "O'Brien", "Ångström", "Li_u", "50%off"]
GIVEN = [["Ana"], ["Ána", "Maria"], ["민준"], ["John"], ["Jo"], []]
BIRTH = ["1980", "1980-05", "1980-05-01", "1979-12-31", "2001-02-03", None]
CODES = [(LOINC, "4548-4", "Hemoglobin A1c"), (LOINC, "718-7", "Hemoglobin"), ("http://other.example", "4548-4", None),
         (None, "local-1", "혈당")]
EFFECTIVE = [("effectiveDateTime", "2020-01-01T10:00:00+09:00"), ("effectiveDateTime", "2020-01-01"),
             ("effectiveDateTime", "2020-01"), ("effectiveDateTime", "2019-12-31T23:59:59Z"),
             ("effectivePeriod", {"start": "2020-01-01", "end": "2020-03-01"}), ("effectivePeriod", {"start": "2021-06-01"}),
             ("effectiveInstant", "2020-01-01T00:00:00.000Z"), (None, None)]
VALUES = [{"value": 5.5, "unit": "%", "system": UCUM, "code": "%"}, {"value": 7, "unit": "%", "system": UCUM, "code": "%"},
          {"value": 5.45, "unit": "mg", "code": "mg"}, {"value": 120, "unit": "mg/dL", "system": UCUM, "code": "mg/dL"},
          {"value": 0.05, "unit": "g"}, None]


def dataset() -> list[dict]:
    resources = [{"resourceType": "Organization", "id": f"org{number}", "name": name}
                 for number, name in enumerate(["서울대학교병원", "Asan Medical Center", "Samsung Medical Center"])]
    for number in range(24):
        patient = {"resourceType": "Patient", "id": f"p{number}",
                   "name": [{"family": FAMILIES[number % len(FAMILIES)], "given": GIVEN[number % len(GIVEN)]}],
                   "gender": ["male", "female", "other", "unknown"][number % 4]}
        if BIRTH[number % len(BIRTH)]:
            patient["birthDate"] = BIRTH[number % len(BIRTH)]
        if number % 3:
            patient["identifier"] = [{"system": "http://hospital.test/mrn" if number % 2 else None, "value": f"m{number % 5}"}]
            patient["identifier"] = [{key: value for key, value in patient["identifier"][0].items() if value}]
            if number % 3 == 1:
                patient["identifier"][0]["type"] = {"coding": [{"system": V2_0203, "code": ["MR", "MB"][number % 2]}]}
        if number % 4 == 0:
            patient["active"] = bool(number % 8)
        if number % 4 != 3:
            patient["managingOrganization"] = {"reference": f"Organization/org{number % 3}"}
        if number % 5 == 0:
            patient["address"] = [{"city": "서울특별시" if number % 10 else "Busan", "country": "KR"}]
        resources.append(patient)
    for number in range(40):
        system, code, display = CODES[number % len(CODES)]
        coding = {key: value for key, value in (("system", system), ("code", code), ("display", display)) if value}
        observation = {"resourceType": "Observation", "id": f"o{number}",
                       "status": ["final", "amended", "preliminary"][number % 3],
                       "code": {"coding": [coding], **({"text": f"검사 {display}" if number % 6 == 5 else display}
                                                       if number % 2 and display else {})},
                       "subject": {"reference": f"Patient/p{number % 24}"}}
        if number % 5 == 2:  # a patient who measured it: referenced through another parameter than subject
            observation["performer"] = [{"reference": f"Patient/p{(number * 7 + 3) % 24}"}]
        element, when = EFFECTIVE[number % len(EFFECTIVE)]
        if element:
            observation[element] = when
        if number % 4 == 1:  # a blood pressure panel: which component carries which value matters
            observation["component"] = [
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                 "valueQuantity": {"value": 110 + number, "system": UCUM, "code": "mm[Hg]"}},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                 "valueQuantity": {"value": 70 + number % 20, "system": UCUM, "code": "mm[Hg]"}}]
        quantity = VALUES[number % len(VALUES)]
        if quantity:
            observation["valueQuantity"] = quantity
        elif number % 12 == 5:
            observation["valueDateTime"] = "2020-03-15T10:00:00+09:00"
        elif number % 2:
            observation["valueString"] = "positive"
        resources.append(observation)
    return resources


@pytest.fixture(scope="module", params=["sql", "elasticsearch"])
def search_backend(request, module_database_url):
    """Settings of each search backend; Elasticsearch runs once, over SQLite (the database's kind does not
    change what the engine matches)."""
    if request.param == "sql":
        return {}
    if not module_database_url.startswith("sqlite"):
        pytest.skip("Elasticsearch runs over the SQLite database")
    return elasticsearch_settings(request.getfixturevalue("elasticsearch_url"))


@pytest.fixture(scope="module")
def loaded(request, module_database_url, search_backend, tmp_path_factory):
    """The dataset, loaded once per backend through the REST API; the tests only read it. Elasticsearch
    gets a database of its own: the SQL variant's has stored the dataset already, and storing it again
    changes nothing, so nothing would reach the index."""
    database_url = module_database_url
    if search_backend:
        database_url = next(fresh_database(request, "sqlite", tmp_path_factory.mktemp("elasticsearch")))
    app = create_app(Settings(database_url=database_url, base_url="http://fhir.test/fhir", **search_backend))
    client = app.test_client()
    resources = dataset()
    third = len(resources) // 3
    for part in (resources[:third], resources[third:2 * third], resources[2 * third:]):  # three lastUpdated instants
        bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"resource": resource, "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"}}
            for resource in part]}
        response = client.post("/fhir", data=json.dumps(bundle), headers={"Content-Type": "application/fhir+json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        time.sleep(0.002)
    stored = {}
    for resource in resources:
        stored[resource["id"]] = client.get(f"/fhir/{resource['resourceType']}/{resource['id']}").get_json(force=True)
    yield client, stored
    close(app)


def server_ids(client, resource_type: str, name: str, value: str) -> set[str]:
    response = client.get(f"/fhir/{resource_type}?{name}={quote(value, safe=',|:$')}&_count=1000",
                          headers={"Prefer": "handling=strict"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {entry["resource"]["id"] for entry in response.get_json(force=True)["entry"]
            if entry["search"]["mode"] == "match"}


def expected_ids(stored: dict, resource_type: str, name: str, value: str) -> set[str]:
    world = {f"{resource['resourceType']}/{resource['id']}": resource for resource in stored.values()}
    return {id_ for id_, resource in stored.items()
            if resource["resourceType"] == resource_type and oracle.matches(resource, resource_type, name, value, world)}


# Union parameters (search/parameters.py): answered from their parts' rows. Blood pressure panels have a code
# and component codes, and values of both, so their matches are in both parts.
UNION_CASES = [
    ("Observation", "combo-code", f"{LOINC}|8480-6"), ("Observation", "combo-code", "718-7,8480-6"),
    ("Observation", "combo-code:not", "8480-6"), ("Observation", "combo-code:missing", "false"),
    ("Observation", "combo-code:text", "hemoglobin"), ("Observation", "combo-value-quantity", "gt100"),
    ("Observation", "combo-value-quantity", "ge0"), ("Observation", "combo-value-quantity:missing", "true"),
    ("Observation", "combo-code-value-quantity", "718-7$gt0,8462-4$gt80"),
]
CASES = [
    ("Patient", "family", "muller"), ("Patient", "family", "MÜL"), ("Patient", "family", "김"), ("Patient", "family", "김민"),
    ("Patient", "family:exact", "Müller"), ("Patient", "family:exact", "müller"), ("Patient", "family:contains", "LL"),
    ("Patient", "family", "Li_"), ("Patient", "family", "50%"), ("Patient", "family:contains", "_"),
    ("Patient", "name", "ana"), ("Patient", "name", "민"), ("Patient", "given", "jo"), ("Patient", "address", "서울"),
    ("Patient", "address-city", "busan"), ("Patient", "gender", "male"), ("Patient", "gender", "male,female"),
    ("Patient", "gender:not", "male"), ("Patient", "active", "true"), ("Patient", "active:missing", "true"),
    ("Patient", "identifier", "m1"), ("Patient", "identifier", "http://hospital.test/mrn|m1"),
    ("Patient", "identifier", "|m2"), ("Patient", "identifier", "http://hospital.test/mrn|"),
    ("Patient", "identifier:missing", "false"), ("Patient", "birthdate", "1980"), ("Patient", "birthdate", "1980-05"),
    ("Patient", "birthdate", "1980-05-01"), ("Patient", "birthdate", "ge1980-05-01"), ("Patient", "birthdate", "lt1980-05"),
    ("Patient", "birthdate", "gt1980"), ("Patient", "birthdate", "le1980-05-01"), ("Patient", "birthdate", "ne1980"),
    ("Patient", "birthdate", "sa1980-05-01"), ("Patient", "birthdate", "eb1980-05-01"), ("Patient", "birthdate:missing", "true"),
    ("Observation", "code", "4548-4"), ("Observation", "code", f"{LOINC}|4548-4"), ("Observation", "code", "|local-1"),
    ("Observation", "code", f"{LOINC}|"), ("Observation", "code:text", "hemo"), ("Observation", "code:text", "혈"),
    ("Observation", "code:text", "검사"),
    ("Observation", "code:not", f"{LOINC}|4548-4"), ("Observation", "status", "final,amended"),
    ("Observation", "subject", "Patient/p3"), ("Observation", "subject", "p3"), ("Observation", "patient", "p5"),
    ("Observation", "subject:missing", "false"), ("Observation", "date", "2020-01-01"), ("Observation", "date", "2020"),
    ("Observation", "date", "ge2020-02"), ("Observation", "date", "lt2020-01-01T00:00:00Z"),
    ("Observation", "date", "gt2020-01-01T05:00:00Z"), ("Observation", "date", "2020-01-01T00:00:00Z"),
    ("Observation", "date", "sa2020-12-31"), ("Observation", "date", "eb2020-01-01"), ("Observation", "date:missing", "true"),
    ("Observation", "value-quantity", "5.5"), ("Observation", "value-quantity", "5.5|http://unitsofmeasure.org|%"),
    ("Observation", "value-quantity", "5.45||mg"), ("Observation", "value-quantity", "gt6"),
    ("Observation", "value-quantity", "le5.5"), ("Observation", "value-quantity", "ne7"),
    ("Observation", "value-quantity", "0.05"), ("Observation", "value-quantity", "lt1e2"),
    ("Observation", "value-quantity", "120|http://unitsofmeasure.org|mg/dL"),
    ("Observation", "subject:Patient.family", "김"), ("Observation", "subject.family", "muller"),
    ("Observation", "patient.gender", "female"), ("Observation", "patient.birthdate", "lt1980-06"),
    ("Observation", "patient.organization.name", "asan"), ("Observation", "subject:Patient.organization.name", "서울"),
    ("Patient", "organization.name", "samsung"), ("Patient", "_has:Observation:patient:code", "4548-4"),
    ("Patient", "_has:Observation:subject:value-quantity", "gt6"), ("Patient", "_has:Observation:patient:status", "amended"),
    ("Organization", "_has:Patient:organization:gender", "male"),
    ("Organization", "_has:Patient:organization:_has:Observation:patient:code", "718-7"),
    ("Patient", "_has:Observation:patient:patient.family", "김"),
    ("Observation", "code-value-quantity", f"{LOINC}|718-7$gt6"), ("Observation", "code-value-quantity", "4548-4$5.5"),
    ("Observation", "code-value-quantity", f"718-7$lt100|{UCUM}|mg/dL,4548-4$le6"),
    ("Observation", "code-value-string", "local-1$pos"), ("Observation", "code-value-date", "718-7$2020"),
    ("Observation", "code-value-date", "718-7$lt2020-03-15T02:00:00Z"),
    ("Observation", "component-code-value-quantity", f"{LOINC}|8480-6$gt130"),
    ("Observation", "component-code-value-quantity", "8462-4$ge80"),
    ("Observation", "component-code-value-quantity", "8462-4$115"),  # a systolic value: no diastolic matches
    ("Observation", "combo-code-value-quantity", "8480-6$lt130,4548-4$7"), ("Observation", "combo-code", "8462-4"),
    *UNION_CASES,
    ("Patient", "identifier:of-type", f"{V2_0203}|MR|m1"), ("Patient", "identifier:of-type", f"{V2_0203}|MB|m2"),
    ("Patient", "identifier:of-type", f"{V2_0203}|MR|m2"),
    ("Patient", "_id", "p1,p3,nobody"), ("Patient", "_id:missing", "true"), ("Patient", "_id:missing", "false"),
    ("Observation", "subject._id", "p3"), ("Patient", "_has:Observation:patient:_id", "o4,o5"),
]


@pytest.mark.parametrize("resource_type, name, value", CASES)
def test_search_matches_brute_force(loaded, resource_type, name, value):
    client, stored = loaded
    assert server_ids(client, resource_type, name, value) == expected_ids(stored, resource_type, name, value)


def test_last_updated_matches_brute_force(loaded):
    """`_lastUpdated` is answered from the resources table, not index rows: around the instants the dataset was
    written at (over three transactions), directly, through a chain and through _has."""
    client, stored = loaded
    instants = sorted({resource["meta"]["lastUpdated"] for resource in stored.values()})
    assert len(instants) >= 3
    first, middle = instants[0], instants[len(instants) // 2]
    day = middle[:10]
    cases = [("Observation", "_lastUpdated", f"{prefix}{middle}")
             for prefix in ("", "ge", "gt", "le", "lt", "ne", "sa", "eb")]
    cases += [("Patient", "_lastUpdated", day), ("Patient", "_lastUpdated", f"lt{day}"),
              ("Patient", "_lastUpdated", f"le{first},gt{middle}"), ("Patient", "_lastUpdated:missing", "true"),
              ("Patient", "_lastUpdated:missing", "false"), ("Observation", "subject._lastUpdated", f"le{first}"),
              ("Observation", "patient.organization._lastUpdated", f"eq{first}"),
              ("Patient", "_has:Observation:patient:_lastUpdated", f"gt{middle}")]
    for resource_type, name, value in cases:
        expected = expected_ids(stored, resource_type, name, value)
        assert server_ids(client, resource_type, name, value) == expected, (name, value)
    assert any(expected_ids(stored, "Observation", "_lastUpdated", f"{prefix}{middle}") for prefix in ("lt", "gt"))


@pytest.mark.parametrize("resource_type, name, value", CASES)
def test_search_checking_each_candidate_matches_brute_force(loaded, search_backend, monkeypatch, resource_type, name,
                                                            value):
    """The same answers when every criterion counts as dense, so it is checked per candidate (sql._dense)."""
    from fhir_server.search.backends import sql

    if search_backend:
        pytest.skip("the SQL backend's own plan")
    monkeypatch.setattr(sql, "DENSE", 1)
    client, stored = loaded
    assert server_ids(client, resource_type, name, value) == expected_ids(stored, resource_type, name, value)


def test_cases_are_not_trivial(loaded):
    """A suite where every answer is empty or everything would prove little."""
    _, stored = loaded
    sizes = [len(expected_ids(stored, *case)) for case in CASES]
    assert sum(1 for size in sizes if size > 0) > len(CASES) * 0.8


_PARAMETER_VALUES = {
    ("Patient", "family"): ["m", "mu", "mül", "MUELLER", "김", "김민서", "s", "o'", "å", "li_", "50"],
    ("Patient", "family:exact"): ["Müller", "Mueller", "김", "Smith"],
    ("Patient", "gender"): ["male", "female", "other", "unknown"],
    ("Patient", "identifier"): ["m0", "m1", "m3", "http://hospital.test/mrn|m1", "|m0", "|m1"],
    ("Patient", "birthdate"): ["1980", "1980-05", "1980-05-01", "1979-12-31", "2001", "2001-02-03"],
    ("Observation", "code"): ["4548-4", "718-7", "local-1", f"{LOINC}|718-7", "http://other.example|4548-4"],
    ("Observation", "date"): ["2020", "2020-01", "2020-01-01", "2019-12-31", "2021-06-01", "2020-02-15T10:00:00Z"],
    ("Observation", "value-quantity"): ["5.5", "7", "120", "5.45", "0.05", "100", "6"],
    ("Observation", "subject"): ["Patient/p1", "Patient/p7", "p2", "Patient/p30"],
    ("Observation", "patient.family"): ["m", "김", "smith", "o"],
    ("Observation", "patient.organization.name"): ["서울", "asan", "s", "nobody"],
    ("Patient", "_has:Observation:patient:code"): ["4548-4", "718-7", "local-1", f"{LOINC}|718-7"],
    ("Organization", "_has:Patient:organization:birthdate"): ["1980", "2001", "1979-12-31"],
    ("Observation", "component-code-value-quantity"): [f"{code}${prefix}{value}" for code in ("8480-6", "8462-4")
                                                        for prefix in ("", "gt", "le") for value in (75, 120, 130)],
}
_PREFIXED = {("Patient", "birthdate"), ("Observation", "date"), ("Observation", "value-quantity"),
             ("Organization", "_has:Patient:organization:birthdate")}


@st.composite
def queries(draw):
    resource_type, name = draw(st.sampled_from(sorted(_PARAMETER_VALUES)))
    values = draw(st.lists(st.sampled_from(_PARAMETER_VALUES[(resource_type, name)]), min_size=1, max_size=3))
    if (resource_type, name) in _PREFIXED:
        values = [draw(st.sampled_from(["", "eq", "ne", "gt", "lt", "ge", "le"])) + value for value in values]
    return resource_type, name, ",".join(values)


@settings(max_examples=80, deadline=None)
@given(query=queries())
def test_random_queries_match_brute_force(loaded, query):
    client, stored = loaded
    assert server_ids(client, *query) == expected_ids(stored, *query)


@pytest.mark.parametrize("name, value, message", [
    ("status.name", "x", "only reference parameters can be chained"),
    ("subject:Medication.code", "x", "cannot refer to a `Medication`"),
    ("_has:Observation:code:status", "final", "not a reference parameter"),
    ("_has:Observation", "x", "_has:Type:reference-parameter:parameter"),
    ("patient.organization" + ".partof" * 6 + ".name", "x", "more than 6 links"),
])
def test_bad_chains_are_400_naming_the_parameter(client, name, value, message):
    response = client.get(f"/fhir/Observation?{name}={value}")
    assert response.status_code == 400, response.get_data(as_text=True)
    assert message in response.get_json(force=True)["issue"][0]["diagnostics"]


@pytest.mark.parametrize("resource_type, name, value", CASES[::4])
def test_summary_count_and_total_equal_brute_force(loaded, resource_type, name, value):
    client, stored = loaded
    expected = len(expected_ids(stored, resource_type, name, value))
    counted = client.get(f"/fhir/{resource_type}?{name}={quote(value, safe=',|:')}&_summary=count").get_json(force=True)
    assert counted["total"] == expected and counted["entry"] == []
    page = client.get(f"/fhir/{resource_type}?{name}={quote(value, safe=',|:')}&_total=accurate&_count=2")
    assert page.get_json(force=True)["total"] == expected


@pytest.mark.parametrize("resource_type, name, value", UNION_CASES)
def test_union_parameter_counts_equal_brute_force(loaded, resource_type, name, value):
    """A resource may have rows in both parts of a union: each is counted once."""
    client, stored = loaded
    counted = client.get(f"/fhir/{resource_type}?{name}={quote(value, safe=',|:$')}&_summary=count").get_json(force=True)
    assert counted["total"] == len(expected_ids(stored, resource_type, name, value))


def _modes(bundle) -> dict[str, set[str]]:
    modes: dict[str, set[str]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        modes.setdefault(entry["search"]["mode"], set()).add(f"{resource['resourceType']}/{resource['id']}")
    return modes


def _references(resource: dict, resource_type: str, code: str) -> set[str]:
    found = oracle.values(resource, oracle.parameter(resource_type, code))
    return {value["reference"] for value in found if isinstance(value, dict) and "reference" in value}


def test_include_adds_referenced_resources(loaded):
    client, stored = loaded
    bundle = client.get("/fhir/Observation?code=718-7&_include=Observation:subject&_count=1000").get_json(force=True)
    matched = [stored[id_] for id_ in expected_ids(stored, "Observation", "code", "718-7")]
    expected = set().union(*(_references(observation, "Observation", "subject") for observation in matched))
    assert _modes(bundle)["include"] == expected and expected


def test_revinclude_adds_referencing_resources(loaded):
    client, stored = loaded
    bundle = client.get("/fhir/Patient?gender=male&_revinclude=Observation:patient&_count=1000").get_json(force=True)
    males = {f"Patient/{id_}" for id_ in expected_ids(stored, "Patient", "gender", "male")}
    expected = {f"Observation/{resource['id']}" for resource in stored.values()
                if resource["resourceType"] == "Observation"
                and _references(resource, "Observation", "patient") & males}
    assert _modes(bundle)["include"] == expected and expected


def test_wildcard_revinclude_adds_resources_referencing_through_any_parameter(loaded):
    client, stored = loaded
    bundle = client.get("/fhir/Patient?gender=male&_revinclude=Observation:*&_count=1000").get_json(force=True)
    males = {f"Patient/{id_}" for id_ in expected_ids(stored, "Patient", "gender", "male")}
    codes = [definition["code"] for definition in oracle.parameters_of("Observation")
             if definition["type"] == "reference"]
    expected = {f"Observation/{resource['id']}" for resource in stored.values()
                if resource["resourceType"] == "Observation"
                and any(_references(resource, "Observation", code) & males for code in codes)}
    assert _modes(bundle)["include"] == expected and expected


def test_include_iterate_follows_included_resources(loaded):
    client, stored = loaded
    bundle = client.get("/fhir/Observation?code=4548-4&_include=Observation:patient"
                        "&_include:iterate=Patient:organization&_count=1000").get_json(force=True)
    matched = [stored[id_] for id_ in expected_ids(stored, "Observation", "code", "4548-4")]
    patients = set().union(*(_references(observation, "Observation", "patient") for observation in matched))
    organizations = set().union(*(_references(stored[reference.split("/")[1]], "Patient", "organization")
                                  for reference in patients))
    assert _modes(bundle)["include"] == patients | organizations and organizations


def test_include_without_iterate_stops_after_one_round(loaded):
    client, _ = loaded
    bundle = client.get("/fhir/Observation?code=4548-4&_include=Observation:patient"
                        "&_include=Patient:organization&_count=1000").get_json(force=True)
    assert not any(reference.startswith("Organization/") for reference in _modes(bundle)["include"])


def test_wildcard_include_follows_every_reference(loaded):
    client, stored = loaded
    bundle = client.get("/fhir/Patient?_id=p1&_include=Patient:*").get_json(force=True)
    assert _modes(bundle)["include"] == _references(stored["p1"], "Patient", "organization")


@pytest.mark.parametrize("query, message", [
    ("_include=Observation:status", "not a reference parameter"),
    ("_include=Observation", "Type:parameter"),
    ("_include=Spaceship:subject", "does not support"),
    ("_summary=bogus", "_summary=bogus"),
    ("_total=maybe", "_total=maybe"),
])
def test_bad_result_parameters_are_400(client, query, message):
    response = client.get(f"/fhir/Observation?{query}")
    assert response.status_code == 400
    assert message in response.get_json(force=True)["issue"][0]["diagnostics"]


def test_include_beyond_the_limit_is_400_not_a_cut(database_url):
    app = create_app(Settings(database_url=database_url, max_included=1))
    client = app.test_client()
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "id": f"x{n}"}, "request": {"method": "PUT", "url": f"Patient/x{n}"}}
        for n in range(2)] + [
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "t"},
                      "subject": {"reference": f"Patient/x{n}"}}, "request": {"method": "POST", "url": "Observation"}}
        for n in range(2)]}
    client.post("/fhir", data=json.dumps(bundle), headers={"Content-Type": "application/fhir+json"})
    response = client.get("/fhir/Observation?_include=Observation:subject")
    assert response.status_code == 400 and "more than 1" in response.get_json(force=True)["issue"][0]["diagnostics"]
    app.extensions["fhir"].repository.database.dispose()


def _in_patient_compartment(resource: dict, patient_id: str) -> bool:
    """Brute force from the official Patient CompartmentDefinition: any listed parameter points at the patient."""
    if resource["resourceType"] == "Patient" and resource["id"] == patient_id:
        return True
    codes = r4()["compartments"]["Patient"].get(resource["resourceType"], [])
    return any(f"Patient/{patient_id}" in _references(resource, resource["resourceType"], code) for code in codes)


@pytest.mark.parametrize("patient_id, resource_type, query", [
    ("p3", "Observation", ""), ("p7", "Observation", "code=4548-4"), ("p0", "Observation", "status=final,amended"),
    ("p3", "Patient", ""), ("p99", "Observation", ""),
])
def test_compartment_search_matches_brute_force(loaded, patient_id, resource_type, query):
    client, stored = loaded
    bundle = client.get(f"/fhir/Patient/{patient_id}/{resource_type}?{query}&_count=1000").get_json(force=True)
    found = {entry["resource"]["id"] for entry in bundle["entry"] if entry["search"]["mode"] == "match"}
    name, _, value = query.partition("=")
    expected = {id_ for id_, resource in stored.items() if resource["resourceType"] == resource_type
                and _in_patient_compartment(resource, patient_id)
                and (not query or oracle.matches(resource, resource_type, name, value))}
    assert found == expected


def test_compartment_errors(client):
    assert client.get("/fhir/Patient/p1/Organization").status_code == 400
    assert client.get("/fhir/Organization/o1/Patient").status_code == 404


def _sort_value(resource: dict, code: str, descending: bool):
    """Brute-force sort value: a resource's lowest value ascending, highest descending (search.html#_sort)."""
    if code == "_id":
        return resource["id"]
    if code == "_lastUpdated":
        return resource["meta"]["lastUpdated"]
    definition = oracle.parameter(resource["resourceType"], code)
    found = oracle.values(resource, definition)
    kind = definition["type"]
    if kind == "date":
        candidates = [(high if descending else low).timestamp() for value in found
                      for low, high in oracle._ranges(value)]
    elif kind == "string":
        candidates = [oracle._plain(text) for value in found for text in oracle._strings(value)]
    elif kind == "token":
        candidates = [code_ for value in found for _, code_, _ in oracle._codes(value) if code_ is not None]
    else:
        candidates = [float(value["value"]) for value in found if isinstance(value, dict) and "value" in value]
    if not candidates:
        return None
    return max(candidates) if descending else min(candidates)


def _expected_order(stored: dict, resource_type: str, sort: str) -> list[str]:
    keys = [(part.lstrip("-"), part.startswith("-")) for part in sort.split(",")]
    members = [resource for resource in stored.values() if resource["resourceType"] == resource_type]
    # Stable sorts from the last key to the first, id first of all: ties end in id order.
    members.sort(key=lambda resource: resource["id"])
    for code, descending in reversed(keys):
        present = [r for r in members if _sort_value(r, code, descending) is not None]
        missing = [r for r in members if _sort_value(r, code, descending) is None]
        present.sort(key=lambda r: _sort_value(r, code, descending), reverse=descending)
        members = present + missing  # resources without a value come last either way
    return [resource["id"] for resource in members]


def _all_pages(client, url: str) -> list[str]:
    return [id_ for page in pages(client, url, "next") for id_ in page]


@pytest.mark.parametrize("resource_type, sort", [
    ("Patient", "birthdate"), ("Patient", "-birthdate"), ("Patient", "family"), ("Patient", "-family,birthdate"),
    ("Patient", "gender,-_id"), ("Observation", "date"), ("Observation", "-date"),
    ("Observation", "value-quantity"), ("Observation", "-value-quantity,date"), ("Observation", "status,-_lastUpdated"),
    ("Observation", "code,-date"), ("Observation", "combo-value-quantity"), ("Observation", "-combo-value-quantity"),
    ("Observation", "-combo-code,_id"),
])
def test_sort_with_keyset_pages_matches_brute_force(loaded, resource_type, sort):
    client, stored = loaded
    # Ties on _lastUpdated are likely within one transaction, so the id decides there, as the oracle says.
    assert _all_pages(client, f"/fhir/{resource_type}?_sort={sort}&_count=3") == _expected_order(stored, resource_type, sort)


@pytest.mark.parametrize("resource_type, sort", [
    ("Patient", "-birthdate"), ("Patient", "family,-_id"), ("Observation", "-value-quantity,date"), ("Observation", "_id"),
])
def test_previous_links_walk_back_through_the_same_pages(loaded, resource_type, sort):
    client, stored = loaded
    first = f"/fhir/{resource_type}?_sort={sort}&_count=4"
    forward = pages(client, first, "next")
    backward = pages(client, last_page_url(client, first), "previous")
    assert backward == forward[::-1] and len(forward) > 2
    assert [id_ for page in forward for id_ in page] == _expected_order(stored, resource_type, sort)
    assert not any(link["relation"] == "previous" for link in client.get(first).get_json(force=True)["link"])


def test_sorting_by_an_unknown_parameter_or_a_forged_cursor_is_400(client):
    assert client.get("/fhir/Patient?_sort=shoe-size").status_code == 400
    assert client.get("/fhir/Patient?_cursor=bm9wZQ").status_code == 400
    assert client.get("/fhir/Patient?_sort=birthdate&_cursor=WyJwMSJd").status_code == 400
