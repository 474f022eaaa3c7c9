"""Every error is an OperationOutcome with the right status, never a trace or SQL."""

import json

import pytest

from fhir_server.app import create_app
from fhir_server.settings import Settings
from tests.fhir_client import assert_outcome, create, patient


def test_unknown_path_outside_fhir_is_404_outcome(client):
    assert_outcome(client.get("/nothing-here"), 404, "/fhir")


def test_unknown_path_inside_fhir_is_404_outcome(client):
    assert_outcome(client.get("/fhir/Patient/1/2/3/4"), 404)


def test_wrong_method_is_405_with_allow(client):
    response = client.delete("/fhir/metadata")
    assert_outcome(response, 405)
    assert "GET" in response.headers["Allow"]


def test_body_over_the_limit_is_413(database_url, tmp_path):
    app = create_app(Settings(database_url=database_url, max_request_bytes=1000))
    response = app.test_client().post("/fhir/Patient", data=json.dumps(patient(text={"status": "generated",
                                      "div": "<div>" + "x" * 2000 + "</div>"})),
                                      headers={"Content-Type": "application/fhir+json"})
    assert_outcome(response, 413)
    app.extensions["fhir"].repository.database.dispose()


def test_unexpected_failure_is_500_outcome_without_details(app, client, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret table name resource_versions")

    monkeypatch.setattr(app.extensions["fhir"].repository, "read", explode)
    response = client.get("/fhir/Patient/x")
    outcome = assert_outcome(response, 500)
    assert "resource_versions" not in json.dumps(outcome)
    assert "Traceback" not in response.get_data(as_text=True)


@pytest.mark.parametrize("body", [b"", b"null", b"[]", b"42", b'"Patient"', b"\xff\xfe", b'{"resourceType": 7}',
                                  b'{"resourceType":"Patient","name":' + b"[" * 5000 + b"]" * 5000 + b"}",
                                  b'{"resourceType":"Patient","birthDate":"1999-02-31"}',
                                  b'{"resourceType":"Patient","active":NaN}'])
def test_garbage_bodies_get_400_not_500(client, body):
    response = client.post("/fhir/Patient", data=body, headers={"Content-Type": "application/fhir+json"})
    assert_outcome(response, 400)


def test_garbage_in_bundles_gets_400_not_500(client):
    for bundle in ({"resourceType": "Bundle", "type": "transaction", "entry": "x"},
                   {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "PUT", "url": 5}}]},
                   {"resourceType": "Bundle", "type": "transaction", "entry": [{"request": {"method": "PUT", "url": "Patient/1"}, "resource": []}]}):
        response = client.post("/fhir", data=json.dumps(bundle), headers={"Content-Type": "application/fhir+json"})
        assert_outcome(response, 400)


def test_readme_path_examples_answer(client):
    create(client, patient())
    assert client.get("/fhir/Patient").status_code == 200
    assert client.get("/fhir/metadata").status_code == 200
