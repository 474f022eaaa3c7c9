"""create and conditional create: https://hl7.org/fhir/R4/http.html#create"""

import json

from tests.fhir_client import assert_outcome, create, created_reference, patient, post


def test_create_assigns_id_version_and_location(client):
    response = post(client, "Patient", patient(id="client-chosen"))
    assert response.status_code == 201
    body = response.get_json(force=True)
    assert body["id"] != "client-chosen", "the spec says the server ignores an id on create"
    assert body["meta"]["versionId"] == "1"
    assert response.headers["Location"] == f"http://fhir.test/fhir/Patient/{body['id']}/_history/1"
    assert response.headers["ETag"] == 'W/"1"'


def test_create_keeps_client_meta_but_sets_version_and_last_updated(client):
    meta = {"versionId": "99", "lastUpdated": "2001-01-01T00:00:00Z", "tag": [{"system": "http://t", "code": "x"}]}
    body = post(client, "Patient", patient(meta=meta)).get_json(force=True)
    assert body["meta"]["versionId"] == "1"
    assert body["meta"]["lastUpdated"] != "2001-01-01T00:00:00Z"
    assert body["meta"]["tag"] == meta["tag"]


def test_create_keeps_decimal_precision_and_hangul(client):
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "혈색소"},
                   "valueQuantity": {"value": 13.50, "unit": "g/dL"}}
    raw = json.dumps(observation).replace("13.5", "13.50")
    response = client.post("/fhir/Observation", data=raw, headers={"Content-Type": "application/fhir+json"})
    assert b'"value":13.50' in response.data
    assert "혈색소".encode() in response.data


def test_create_with_body_of_other_type_is_400(client):
    assert_outcome(post(client, "Observation", patient()), 400, "Patient")


def test_create_of_invalid_resource_is_400_with_element_path(client):
    outcome = assert_outcome(post(client, "Patient", {"resourceType": "Patient", "gender": 5, "colour": "red"}), 400)
    expressions = [path for issue in outcome["issue"] for path in issue.get("expression", [])]
    assert "Patient.gender" in expressions
    assert "Patient.colour" in expressions


def test_create_of_malformed_json_is_400(client):
    response = client.post("/fhir/Patient", data=b'{"resourceType": "Patient",', headers={"Content-Type": "application/fhir+json"})
    assert_outcome(response, 400, "not valid JSON")


def test_conditional_create_without_match_creates(client):
    response = post(client, "Patient", patient("a1"), {"If-None-Exist": "identifier=http://hospital.test/mrn|a1"})
    assert response.status_code == 201


def test_conditional_create_with_one_match_returns_it_unchanged(client):
    reference = create(client, patient("a2"))
    response = post(client, "Patient", patient("a2", gender="male"),
                    {"If-None-Exist": "identifier=http://hospital.test/mrn|a2"})
    assert response.status_code == 200
    assert response.get_json(force=True)["id"] == reference.split("/")[1]
    assert "gender" not in client.get(f"/fhir/{reference}").get_json(force=True)


def test_conditional_create_with_several_matches_is_412(client):
    create(client, patient("dup"))
    create(client, patient("dup"))
    response = post(client, "Patient", patient("dup"), {"If-None-Exist": "identifier=dup"})
    assert_outcome(response, 412, "more than one")


def test_conditional_create_with_unknown_parameter_is_400_not_ignored(client):
    response = post(client, "Patient", patient(), {"If-None-Exist": "nonsense=1"})
    assert_outcome(response, 400, "nonsense")


def test_conditional_create_by_id(client):
    reference = create(client, patient())
    response = post(client, "Patient", patient(), {"If-None-Exist": f"_id={reference.split('/')[1]}"})
    assert response.status_code == 200
    assert created_reference(post(client, "Patient", patient(), {"If-None-Exist": "_id=other"})) != reference
