"""A token confined to one patient sees nothing of another, on every path: reads, searches and their totals,
includes (with :iterate), chains, _has, compartments, history, $everything, bulk export, batches and writes.

The records are small and written out here; the expected ids are read off them by hand. Each leak test
also asks as an administrator, to show the query would find the other patient's data if it were not confined.
"""

from __future__ import annotations

import pytest

from fhir_server.app import create_app
from fhir_server.settings import Settings
from tests.security.conftest import AUDIENCE


def _observation(id_, patient, code, **extra):
    return {"resourceType": "Observation", "id": id_, "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
            "subject": {"reference": f"Patient/{patient}"}, **extra}


RECORDS = [
    {"resourceType": "Patient", "id": "a", "name": [{"family": "Kim"}], "birthDate": "1970-05-05"},
    {"resourceType": "Patient", "id": "b", "name": [{"family": "Lee"}], "birthDate": "1990-01-01"},
    {"resourceType": "Practitioner", "id": "dr", "name": [{"family": "Park"}]},
    {"resourceType": "Practitioner", "id": "dr2", "name": [{"family": "Choi"}]},
    {"resourceType": "Medication", "id": "med", "code": {"text": "metformin"}},
    {"resourceType": "Encounter", "id": "ea", "status": "finished", "class": {"code": "AMB"},
     "subject": {"reference": "Patient/a"}},
    {"resourceType": "Encounter", "id": "eb", "status": "finished", "class": {"code": "AMB"},
     "subject": {"reference": "Patient/b"}},
    _observation("oa1", "a", "1", encounter={"reference": "Encounter/ea"}, performer=[{"reference": "Practitioner/dr"}],
                 focus=[{"reference": "Patient/b"}], hasMember=[{"reference": "Observation/ob1"}]),
    _observation("oa2", "a", "2"),
    _observation("ob1", "b", "1", encounter={"reference": "Encounter/eb"}, performer=[{"reference": "Practitioner/dr2"}]),
    {"resourceType": "MedicationRequest", "id": "mra", "status": "active", "intent": "order",
     "medicationReference": {"reference": "Medication/med"}, "subject": {"reference": "Patient/a"}},
    {"resourceType": "MedicationRequest", "id": "mrb", "status": "active", "intent": "order",
     "medicationReference": {"reference": "Medication/med"}, "subject": {"reference": "Patient/b"}},
]


def _load(client, bearer):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": record, "request": {"method": "PUT", "url": f"{record['resourceType']}/{record['id']}"}}
        for record in RECORDS]}
    response = client.post("/fhir", json=bundle, headers=bearer("user/*.cruds", roles=("admin",)))
    assert response.status_code == 200, response.json


def _app(database_url, dev_key_path):
    return create_app(Settings(database_url=database_url, base_url=AUDIENCE, auth="on",
                               auth_dev_key=str(dev_key_path), terminology_folder="/nonexistent"))


@pytest.fixture(scope="module")
def client(module_database_url, dev_key_path, bearer):
    app = _app(module_database_url, dev_key_path)
    client = app.test_client()
    _load(client, bearer)
    yield client
    app.extensions["fhir"].repository.database.dispose()


@pytest.fixture(scope="module")
def patient_a(bearer):
    return bearer("patient/*.rs", patient="a")


@pytest.fixture(scope="module")
def admin(bearer):
    return bearer("user/*.cruds", roles=("admin",))


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.json
    return sorted(entry["fullUrl"].removeprefix(AUDIENCE + "/") for entry in response.json.get("entry", [])
                  if entry.get("search", {}).get("mode") != "outcome")


def test_a_search_finds_only_the_patients_own_resources_and_counts_only_them(client, patient_a, admin):
    assert _ids(client.get("/fhir/Observation", headers=admin)) == ["Observation/oa1", "Observation/oa2",
                                                                     "Observation/ob1"]
    assert _ids(client.get("/fhir/Observation", headers=patient_a)) == ["Observation/oa1", "Observation/oa2"]
    assert client.get("/fhir/Observation?code=1&_total=accurate", headers=patient_a).json["total"] == 1
    assert client.get("/fhir/Observation?_summary=count", headers=patient_a).json["total"] == 2
    assert _ids(client.get("/fhir/Patient", headers=patient_a)) == ["Patient/a"]


def test_another_patients_resources_read_as_if_they_did_not_exist(client, patient_a, admin):
    for path in ("Observation/ob1", "Encounter/eb", "Patient/b", "Observation/ob1/_history/1",
                 "Observation/ob1/_history", "MedicationRequest/mrb"):
        assert client.get(f"/fhir/{path}", headers=admin).status_code == 200
        response = client.get(f"/fhir/{path}", headers=patient_a)
        assert response.status_code == 404, path
        assert response.json["issue"][0]["diagnostics"] == f"Resource `{'/'.join(path.split('/')[:2])}` was not found."
    assert client.get("/fhir/Observation/oa1", headers=patient_a).status_code == 200


def test_types_that_hold_no_patients_record_stay_readable(client, patient_a):
    assert client.get("/fhir/Medication/med", headers=patient_a).status_code == 200
    assert client.get("/fhir/Practitioner/dr", headers=patient_a).status_code == 200


def test_includes_add_nothing_of_another_patient(client, patient_a, admin):
    query = "/fhir/Observation?_id=oa1&_include=Observation:has-member&_include=Observation:focus"
    assert _ids(client.get(query, headers=admin)) == ["Observation/oa1", "Observation/ob1", "Patient/b"]
    assert _ids(client.get(query, headers=patient_a)) == ["Observation/oa1"]


def test_an_iterated_revinclude_through_a_shared_resource_stops_at_the_patient(client, patient_a, admin):
    query = ("/fhir/MedicationRequest?_include=MedicationRequest:medication"
             "&_revinclude:iterate=MedicationRequest:medication")
    assert _ids(client.get(query, headers=admin)) == ["Medication/med", "MedicationRequest/mra",
                                                      "MedicationRequest/mrb"]
    assert _ids(client.get(query, headers=patient_a)) == ["Medication/med", "MedicationRequest/mra"]


def test_a_chain_cannot_filter_by_another_patients_data(client, patient_a, admin):
    query = "/fhir/Observation?focus:Patient.birthdate=1990-01-01"
    assert _ids(client.get(query, headers=admin)) == ["Observation/oa1"]
    assert _ids(client.get(query, headers=patient_a)) == []


def test_has_cannot_reveal_what_another_patients_resources_point_at(client, patient_a, admin):
    query = "/fhir/Practitioner?_has:Observation:performer:subject=Patient/b"
    assert _ids(client.get(query, headers=admin)) == ["Practitioner/dr2"]
    assert _ids(client.get(query, headers=patient_a)) == []
    assert _ids(client.get("/fhir/Patient?_has:Observation:subject:code=1", headers=patient_a)) == ["Patient/a"]


def test_another_patients_compartment_is_empty(client, patient_a):
    assert _ids(client.get("/fhir/Patient/b/Observation", headers=patient_a)) == []
    assert _ids(client.get("/fhir/Patient/a/Observation", headers=patient_a)) == ["Observation/oa1",
                                                                                   "Observation/oa2"]


def test_everything_of_another_patient_is_not_found_and_ones_own_leaves_the_other_out(client, patient_a):
    assert client.get("/fhir/Patient/b/$everything", headers=patient_a).status_code == 404
    everything = _ids(client.get("/fhir/Patient/a/$everything", headers=patient_a))
    assert everything == ["Encounter/ea", "Medication/med", "MedicationRequest/mra", "Observation/oa1",
                          "Observation/oa2", "Patient/a", "Practitioner/dr"]


def test_whole_type_and_server_history_and_bulk_export_need_more_than_a_patient_scope(client, patient_a):
    for path in ("Observation/_history", "_history", "$export", "Patient/$export"):
        response = client.get(f"/fhir/{path}", headers={**patient_a, "Prefer": "respond-async"})
        assert response.status_code == 403, path


def test_a_batch_entry_for_another_patient_is_not_found(client, patient_a):
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation/ob1"}},
        {"request": {"method": "GET", "url": "Observation?code=1"}},
    ]}
    entries = client.post("/fhir", json=batch, headers=patient_a).json["entry"]
    assert entries[0]["response"]["status"].startswith("404")
    assert [entry["fullUrl"] for entry in entries[1]["resource"].get("entry", [])] == [f"{AUDIENCE}/Observation/oa1"]


def test_user_scopes_leave_out_included_types_they_do_not_grant_and_refuse_such_chains(client, bearer):
    observations_only = bearer("user/Observation.rs")
    assert _ids(client.get("/fhir/Observation?_include=Observation:subject", headers=observations_only)) == [
        "Observation/oa1", "Observation/oa2", "Observation/ob1"]
    for chain in ("subject:Patient.name=Lee", "subject.name=Lee"):
        assert client.get(f"/fhir/Observation?{chain}", headers=observations_only).status_code == 403


@pytest.fixture
def writable(database_url, dev_key_path, bearer):
    app = _app(database_url, dev_key_path)
    client = app.test_client()
    _load(client, bearer)
    yield client, bearer("patient/*.cruds", patient="a", roles=("integrator",))
    app.extensions["fhir"].repository.database.dispose()


def test_writes_stay_inside_the_patients_compartment(writable, admin):
    client, writer = writable
    for_b = _observation("new", "b", "9")
    del for_b["id"]
    assert client.post("/fhir/Observation", json=for_b, headers=writer).status_code == 403
    assert client.put("/fhir/Observation/ob1", json=_observation("ob1", "a", "1"), headers=writer).status_code == 403
    assert client.put("/fhir/Observation/oa2", json=_observation("oa2", "b", "2"), headers=writer).status_code == 403
    assert client.patch("/fhir/Observation/ob1", json=[{"op": "replace", "path": "/status", "value": "amended"}],
                        headers={**writer, "Content-Type": "application/json-patch+json"}).status_code == 403
    assert client.delete("/fhir/Observation/ob1", headers=writer).status_code == 403
    # Nothing of that was stored: the admin sees the records as loaded.
    assert _ids(client.get("/fhir/Observation", headers=admin)) == ["Observation/oa1", "Observation/oa2",
                                                                     "Observation/ob1"]
    assert client.get("/fhir/Observation/oa2", headers=admin).json["subject"]["reference"] == "Patient/a"
    assert client.get("/fhir/Observation/ob1", headers=admin).json["meta"]["versionId"] == "1"


def test_conditional_writes_match_only_inside_the_compartment(writable, admin):
    client, writer = writable
    assert client.delete("/fhir/Observation?code=http://loinc.org|1", headers=writer).status_code in (200, 204)
    assert _ids(client.get("/fhir/Observation", headers=admin)) == ["Observation/oa2", "Observation/ob1"]
    own = _observation("x", "a", "2")
    del own["id"]
    created = client.post("/fhir/Observation", json=own, headers={**writer, "If-None-Exist": "code=2"})
    assert created.status_code == 200  # oa2 matches; ob1's code is not visible to the criteria anyway
