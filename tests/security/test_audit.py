"""The audit trail: an AuditEvent per interaction that touches patient data, written with the request,
readable by administrators only and changeable by nobody through the API."""

from __future__ import annotations

import base64
import json

import pytest
from sqlalchemy.exc import OperationalError

from fhir_server import resources
from fhir_server.app import create_app
from fhir_server.pipeline import FhirRequest
from fhir_server.settings import Settings
from tests.security.conftest import AUDIENCE

OBSERVATION = {"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "HbA1c"},
               "subject": {"reference": "Patient/p1"}}


@pytest.fixture
def client(database_url, dev_key_path, bearer):
    """An app with authentication on, over each database."""
    app = create_app(Settings(database_url=database_url, auth="on", auth_dev_key=str(dev_key_path),
                              base_url=AUDIENCE, terminology_folder="/nonexistent"))
    client = app.test_client()
    writer = bearer("user/*.cruds", roles=("integrator",))
    assert client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"}, headers=writer).status_code == 201
    assert client.put("/fhir/Observation/o1", json=OBSERVATION, headers=writer).status_code == 201
    yield client
    app.extensions["fhir"].repository.database.dispose()


def _events(client) -> list[dict]:
    """Every stored AuditEvent, oldest first, read past the API so that reading them adds none."""
    context = client.application.extensions["fhir"]
    response = context.pipeline.handle(FhirRequest("GET", "AuditEvent", [("_count", "1000"), ("_sort", "date")]),
                                       context)
    return [entry["resource"] for entry in json.loads(response.body).get("entry", [])]


def test_a_read_records_who_which_client_from_where_what_and_about_which_patient(client, bearer):
    before = len(_events(client))
    assert client.get("/fhir/Observation/o1", headers=bearer("patient/*.rs", patient="p1"),
                      environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200
    events = _events(client)
    assert len(events) == before + 1
    event = events[-1]
    resources.validate(event)  # a valid R4 AuditEvent by fhir.resources
    assert event["action"] == "R" and event["outcome"] == "0"
    assert event["subtype"][0]["code"] == "read"
    person, application = event["agent"]
    assert person["who"]["identifier"] == {"system": "fhir-server-dev", "value": "developer"}
    assert person["network"] == {"address": "10.1.2.3", "type": "2"}
    assert person["policy"] == ["patient/*.rs"]
    assert application["who"]["identifier"]["value"] == "fhir-server-cli"
    whats = [entity["what"]["reference"] for entity in event["entity"]]
    assert whats == ["Observation/o1/_history/1", "Patient/p1"]


def test_a_refused_request_is_recorded_as_a_failure(client, bearer):
    assert client.get("/fhir/Observation/o1", headers=bearer("user/Patient.rs")).status_code == 403
    event = _events(client)[-1]
    assert event["outcome"] == "4" and event["outcomeDesc"] == "403 GET Observation/o1"


def test_a_search_records_its_query_and_the_patient_it_names(client, bearer):
    client.get("/fhir/Observation?patient=p1&code=4548-4", headers=bearer("user/*.rs"))
    event = _events(client)[-1]
    query = next(entity for entity in event["entity"] if "query" in entity)
    assert base64.b64decode(query["query"]).decode() == "patient=p1&code=4548-4"
    assert {"reference": "Patient/p1"} in [entity.get("what") for entity in event["entity"]]
    assert event["action"] == "E" and event["subtype"][0]["code"] == "search-type"


def test_a_transaction_is_one_event_naming_each_entrys_resources_and_outcome(client, bearer):
    before = len(_events(client))
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {**OBSERVATION, "id": "o2"}, "request": {"method": "PUT", "url": "Observation/o2"}},
        {"request": {"method": "GET", "url": "Patient/p1"}},
    ]}
    assert client.post("/fhir", json=bundle, headers=bearer("user/*.cruds", roles=("integrator",))).status_code == 200
    events = _events(client)[before:]
    assert len(events) == 1
    resources.validate(events[0])
    assert events[0]["subtype"][0]["code"] == "transaction" and events[0]["outcome"] == "0"
    assert [(entity["what"]["reference"], [detail["valueString"] for detail in entity.get("detail", [])])
            for entity in events[0]["entity"]] == [
        ("Observation/o2/_history/1", ["201 PUT Observation/o2"]),
        ("Patient/p1", []),
        ("Patient/p1/_history/1", ["200 GET Patient/p1"]),
    ]


def test_discovery_and_terminology_are_not_audited(client, bearer):
    before = len(_events(client))
    client.get("/fhir/metadata")
    client.get("/fhir/CodeSystem/$lookup?system=http://loinc.org&code=4548-4", headers=bearer("user/*.rs"))
    assert len(_events(client)) == before


def test_only_administrators_read_the_trail_and_nobody_changes_it(client, bearer):
    assert client.get("/fhir/AuditEvent", headers=bearer("user/*.cruds", roles=("integrator",))).status_code == 403
    assert client.get("/fhir/_history", headers=bearer("user/*.rs")).status_code == 403
    admin = bearer("user/*.cruds", roles=("admin",))
    found = client.get("/fhir/AuditEvent?entity=Observation/o1/_history/1", headers=admin)
    assert found.status_code == 200 and found.json["entry"]
    event = _events(client)[0]
    assert client.put(f"/fhir/AuditEvent/{event['id']}", json={**event, "outcome": "0"}, headers=admin).status_code == 403
    assert client.delete(f"/fhir/AuditEvent/{event['id']}", headers=admin).status_code == 403
    forged = {key: value for key, value in event.items() if key not in ("id", "meta")}
    assert client.post("/fhir/AuditEvent", json=forged, headers=admin).status_code == 403
    transaction = {"resourceType": "Bundle", "type": "transaction",
                   "entry": [{"request": {"method": "DELETE", "url": f"AuditEvent/{event['id']}"}}]}
    assert client.post("/fhir", json=transaction, headers=admin).status_code == 403
    assert client.get(f"/fhir/AuditEvent/{event['id']}", headers=admin).json["meta"]["versionId"] == "1"


def test_an_answer_whose_audit_cannot_be_written_is_not_given(client, bearer, monkeypatch):
    def failing():
        raise OperationalError("BEGIN IMMEDIATE", {}, Exception("disk I/O error"))

    # Reads need no write transaction: only the audit's fails.
    monkeypatch.setattr(client.application.extensions["fhir"].repository, "write", failing)
    response = client.get("/fhir/Observation/o1", headers=bearer("user/*.rs"))
    assert response.status_code == 500
    assert response.json["resourceType"] == "OperationOutcome" and "HbA1c" not in response.get_data(as_text=True)


def test_without_authentication_there_is_no_trail(make_client):
    client = make_client()
    client.put("/fhir/Observation/o1", json=OBSERVATION)
    client.get("/fhir/Observation/o1")
    assert _events(client) == []


def test_concurrent_requests_each_get_their_event(client, bearer):
    from concurrent.futures import ThreadPoolExecutor

    before = len(_events(client))
    reader = bearer("user/*.rs")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda _: client.get("/fhir/Observation/o1", headers=reader).status_code, range(40)))
    assert statuses == [200] * 40
    assert len(_events(client)) == before + 40


def test_the_import_api_leaves_an_event_too(client, bearer):
    before = len(_events(client))
    assert client.get("/import/jobs", headers=bearer("user/*.cruds", roles=("integrator",))).status_code == 200
    event = _events(client)[-1]
    assert len(_events(client)) == before + 1
    assert event["outcomeDesc"] == "200 GET import/jobs" and event["subtype"][0]["code"] == "operation"
