"""Authentication over HTTP: 401 with a challenge, 403 for a missing scope or role, public discovery documents."""

import logging

import pytest

from tests.security.conftest import AUDIENCE


@pytest.fixture
def client(make_client, dev_key_path):
    return make_client(auth="on", auth_dev_key=str(dev_key_path), base_url=AUDIENCE)


def _outcome_says(response, words: str) -> bool:
    return response.json["resourceType"] == "OperationOutcome" and words in response.json["issue"][0]["diagnostics"]


def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(client):
    response = client.get("/fhir/Patient")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json["issue"][0]["code"] == "login"


def test_a_bad_token_gets_401_saying_why_and_the_token_is_never_logged(client, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.get("/fhir/Patient", headers={"Authorization": "Bearer not.a.jwt-secret-value"})
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert "jwt-secret-value" not in caplog.text


def test_another_scheme_is_refused(client):
    response = client.get("/fhir/Patient", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401 and 'error="invalid_request"' in response.headers["WWW-Authenticate"]


def test_a_token_for_another_server_is_refused(client, dev_key_path):
    from fhir_server.security import dev_key

    token = dev_key.mint(dev_key_path, audience="https://other-hospital.test/fhir", scopes="user/*.rs")
    response = client.get("/fhir/Patient", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401 and _outcome_says(response, "aud")


def test_a_valid_token_with_the_scope_reads(client, bearer):
    assert client.get("/fhir/Patient", headers=bearer("user/Patient.rs")).status_code == 200


def test_a_missing_scope_gets_403_with_insufficient_scope(client, bearer):
    response = client.get("/fhir/Patient", headers=bearer("user/Observation.rs"))
    assert response.status_code == 403
    assert response.headers["WWW-Authenticate"] == 'Bearer error="insufficient_scope"'
    assert _outcome_says(response, "`search` on `Patient`")


def test_reading_does_not_allow_writing_and_the_user_role_never_writes(client, bearer):
    patient = {"resourceType": "Patient", "name": [{"family": "Kim"}]}
    assert client.post("/fhir/Patient", json=patient, headers=bearer("user/Patient.rs")).status_code == 403
    assert client.post("/fhir/Patient", json=patient, headers=bearer("user/Patient.cruds")).status_code == 403
    assert client.post("/fhir/Patient", json=patient,
                       headers=bearer("user/Patient.cruds", roles=("integrator",))).status_code == 201


def test_a_researcher_reaches_no_resource_but_may_use_terminology(client, bearer):
    researcher = bearer("user/*.cruds", roles=("researcher",))
    assert client.get("/fhir/Patient", headers=researcher).status_code == 403
    assert client.get("/fhir/Observation/x", headers=researcher).status_code == 403
    lookup = client.get("/fhir/CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10&code=C50", headers=researcher)
    assert lookup.status_code != 403


def test_administrative_operations_are_for_administrators(client, bearer):
    assert client.post("/fhir/$reindex", headers=bearer("user/*.cruds", roles=("integrator",))).status_code == 403
    assert client.post("/fhir/$reindex", headers=bearer("user/*.cruds", roles=("admin",))).status_code != 403


def test_the_import_api_is_for_integrators(client, bearer):
    assert client.get("/import/jobs").status_code == 401
    assert client.get("/import/jobs", headers=bearer("user/*.rs")).status_code == 403
    assert client.get("/import/jobs", headers=bearer("user/*.cruds", roles=("integrator",))).status_code == 200


def test_each_entry_of_a_batch_is_authorized_on_its_own(client, bearer):
    batch = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Observation"}},
    ]}
    response = client.post("/fhir", json=batch, headers=bearer("user/Patient.rs"))
    assert response.status_code == 200
    assert [entry["response"]["status"][:3] for entry in response.json["entry"]] == ["200", "403"]


def test_a_transaction_with_one_forbidden_entry_writes_nothing(client, bearer):
    writer = bearer("user/Patient.cruds", roles=("integrator",))
    transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Patient", "name": [{"family": "Lee"}]},
         "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Observation", "status": "final", "code": {"text": "x"}},
         "request": {"method": "POST", "url": "Observation"}},
    ]}
    assert client.post("/fhir", json=transaction, headers=writer).status_code == 403
    assert client.get("/fhir/Patient?_summary=count", headers=writer).json["total"] == 0


def test_the_capability_statement_and_smart_configuration_need_no_token_and_describe_smart(client):
    statement = client.get("/fhir/metadata")
    assert statement.status_code == 200
    service = statement.json["rest"][0]["security"]["service"][0]["coding"][0]
    assert (service["system"], service["code"]) == (
        "http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR")
    smart = client.get("/fhir/.well-known/smart-configuration")
    assert smart.status_code == 200
    assert "permission-v2" in smart.json["capabilities"] and "patient/*.cruds" in smart.json["scopes_supported"]


def test_with_authentication_off_every_request_goes_through(make_client):
    client = make_client()
    assert client.get("/fhir/Patient").status_code == 200
    assert "service" not in client.get("/fhir/metadata").json["rest"][0]["security"]


def test_the_audience_is_never_taken_from_the_requests_host(make_client, dev_key_path):
    """A token for another server trusting the same issuer must not pass by naming that server as Host."""
    from fhir_server.security import dev_key

    client = make_client(auth="on", auth_dev_key=str(dev_key_path))  # no base URL: the audience is where it listens
    token = dev_key.mint(dev_key_path, audience="http://other-hospital.test/fhir", scopes="user/*.rs")
    response = client.get("/fhir/Patient", base_url="http://other-hospital.test",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    mine = dev_key.mint(dev_key_path, audience="http://127.0.0.1:8080/fhir", scopes="user/*.rs")
    assert client.get("/fhir/Patient", headers={"Authorization": f"Bearer {mine}"}).status_code == 200
