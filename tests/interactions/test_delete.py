"""delete and conditional delete: https://hl7.org/fhir/R4/http.html#delete"""

from tests.fhir_client import assert_outcome, create, patient, post, put


def test_delete_then_read_is_410_and_history_keeps_versions(client):
    reference = create(client, patient())
    response = client.delete(f"/fhir/{reference}")
    assert response.status_code == 204
    assert response.headers["ETag"] == 'W/"2"'
    assert_outcome(client.get(f"/fhir/{reference}"), 410, "deleted")
    assert client.get(f"/fhir/{reference}/_history/1").status_code == 200
    assert_outcome(client.get(f"/fhir/{reference}/_history/2"), 410)


def test_delete_of_missing_resource_succeeds_with_nothing_to_do(client):
    assert client.delete("/fhir/Patient/never-existed").status_code == 204


def test_delete_twice_keeps_one_deletion_version(client):
    reference = create(client, patient())
    client.delete(f"/fhir/{reference}")
    client.delete(f"/fhir/{reference}")
    history = client.get(f"/fhir/{reference}/_history").get_json(force=True)
    assert len(history["entry"]) == 2


def test_update_after_delete_recreates_with_next_version(client):
    reference = create(client, patient())
    client.delete(f"/fhir/{reference}")
    response = put(client, reference, patient(id=reference.split("/")[1]))
    assert response.status_code == 201
    assert response.headers["ETag"] == 'W/"3"'
    assert client.get(f"/fhir/{reference}").status_code == 200


def test_delete_with_stale_if_match_is_412(client):
    reference = create(client, patient())
    assert_outcome(client.delete(f"/fhir/{reference}", headers={"If-Match": 'W/"5"'}), 412)
    assert client.get(f"/fhir/{reference}").status_code == 200


def test_deleted_resource_no_longer_matches_search(client):
    reference = create(client, patient("gone"))
    client.delete(f"/fhir/{reference}")
    bundle = client.get("/fhir/Patient?identifier=gone").get_json(force=True)
    assert bundle["entry"] == []


def test_conditional_delete_deletes_single_match(client):
    reference = create(client, patient("d1"))
    assert client.delete("/fhir/Patient?identifier=d1").status_code == 204
    assert client.get(f"/fhir/{reference}").status_code == 410


def test_conditional_delete_without_match_succeeds(client):
    assert client.delete("/fhir/Patient?identifier=none").status_code == 204


def test_conditional_delete_with_several_matches_is_412_and_deletes_nothing(client):
    first, second = create(client, patient("d2")), create(client, patient("d2"))
    assert_outcome(client.delete("/fhir/Patient?identifier=d2"), 412)
    assert client.get(f"/fhir/{first}").status_code == 200
    assert client.get(f"/fhir/{second}").status_code == 200


def test_conditional_delete_with_unknown_parameter_is_400(client):
    create(client, patient())
    assert_outcome(client.delete("/fhir/Patient?colour=red"), 400, "colour")


def test_prefer_operation_outcome_on_delete(client):
    reference = create(client, patient())
    response = client.delete(f"/fhir/{reference}", headers={"Prefer": "return=OperationOutcome"})
    assert response.status_code == 200
    assert response.get_json(force=True)["resourceType"] == "OperationOutcome"
    assert post(client, "Patient", patient()).status_code == 201
