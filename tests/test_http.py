"""Content types, _format, _pretty and Prefer: https://hl7.org/fhir/R4/http.html#mime-type"""

import json

from tests.fhir_client import assert_outcome, create, patient, post


def test_json_and_fhir_json_are_both_accepted(client):
    for content_type in ("application/fhir+json", "application/json", "application/fhir+json; charset=utf-8"):
        response = client.post("/fhir/Patient", data=json.dumps(patient()), headers={"Content-Type": content_type})
        assert response.status_code == 201, content_type


def test_xml_body_is_415(client):
    response = client.post("/fhir/Patient", data="<Patient xmlns='http://hl7.org/fhir'/>",
                           headers={"Content-Type": "application/fhir+xml"})
    assert_outcome(response, 415, "application/fhir+xml")


def test_form_body_on_create_is_415(client):
    assert_outcome(client.post("/fhir/Patient", data={"a": "b"}), 415)


def test_responses_are_fhir_json_unless_plain_json_is_asked(client):
    reference = create(client, patient())
    assert client.get(f"/fhir/{reference}").content_type == "application/fhir+json; charset=utf-8"
    plain = client.get(f"/fhir/{reference}", headers={"Accept": "application/json"})
    assert plain.content_type == "application/json; charset=utf-8"
    assert client.get(f"/fhir/{reference}?_format=json").content_type.startswith("application/fhir+json")
    assert client.get(f"/fhir/{reference}", headers={"Accept": "text/html,*/*;q=0.8"}).status_code == 200


def test_xml_only_accept_or_format_is_406(client):
    reference = create(client, patient())
    assert_outcome(client.get(f"/fhir/{reference}?_format=xml"), 406, "JSON")
    assert_outcome(client.get(f"/fhir/{reference}", headers={"Accept": "application/fhir+xml"}), 406)


def test_pretty_indents_the_same_content(client):
    reference = create(client, patient())
    compact = client.get(f"/fhir/{reference}")
    pretty = client.get(f"/fhir/{reference}?_pretty=true")
    assert b"\n  " in pretty.data and b"\n" not in compact.data
    assert json.loads(pretty.data) == json.loads(compact.data)


def test_prefer_return_minimal_and_operation_outcome(client):
    minimal = post(client, "Patient", patient(), {"Prefer": "return=minimal"})
    assert minimal.status_code == 201 and minimal.data == b""
    assert minimal.headers["Location"] and minimal.headers["ETag"] == 'W/"1"'
    outcome = post(client, "Patient", patient(), {"Prefer": "return=OperationOutcome"})
    assert outcome.status_code == 201
    assert outcome.get_json(force=True)["resourceType"] == "OperationOutcome"


def test_head_answers_like_get_without_body(client):
    reference = create(client, patient())
    response = client.head(f"/fhir/{reference}")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["ETag"] == 'W/"1"'
