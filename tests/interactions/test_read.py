"""read and vread: https://hl7.org/fhir/R4/http.html#read"""

from tests.fhir_client import assert_outcome, create, patient, put


def test_read_returns_the_stored_resource_with_server_meta(client):
    reference = create(client, patient(birthDate="1980-05-01"))
    response = client.get(f"/fhir/{reference}")
    assert response.status_code == 200
    body = response.get_json(force=True)
    assert body["resourceType"] == "Patient"
    assert body["id"] == reference.split("/")[1]
    assert body["meta"]["versionId"] == "1"
    assert body["birthDate"] == "1980-05-01"
    assert body["name"] == [{"family": "김", "given": ["민준"]}]
    assert response.headers["ETag"] == 'W/"1"'
    assert response.headers["Last-Modified"].endswith("GMT")


def test_read_of_unknown_id_is_404(client):
    assert_outcome(client.get("/fhir/Patient/does-not-exist"), 404, "Patient/does-not-exist")


def test_read_of_unknown_resource_type_is_404(client):
    assert_outcome(client.get("/fhir/Spaceship/1"), 404, "Spaceship")


def test_read_of_invalid_id_is_400(client):
    assert_outcome(client.get("/fhir/Patient/" + "x" * 65), 400, "not a valid resource id")


def test_vread_returns_each_version(client):
    reference = create(client, patient(gender="male"))
    updated = client.get(f"/fhir/{reference}").get_json(force=True)
    updated["gender"] = "female"
    assert put(client, reference, updated).status_code == 200
    first = client.get(f"/fhir/{reference}/_history/1")
    second = client.get(f"/fhir/{reference}/_history/2")
    assert first.get_json(force=True)["gender"] == "male" and first.headers["ETag"] == 'W/"1"'
    assert second.get_json(force=True)["gender"] == "female" and second.headers["ETag"] == 'W/"2"'
    assert_outcome(client.get(f"/fhir/{reference}/_history/3"), 404)
    assert_outcome(client.get(f"/fhir/{reference}/_history/x"), 404)


def test_if_none_match_with_current_etag_is_304(client):
    reference = create(client, patient())
    response = client.get(f"/fhir/{reference}", headers={"If-None-Match": 'W/"1"'})
    assert response.status_code == 304
    assert response.data == b""
    assert client.get(f"/fhir/{reference}", headers={"If-None-Match": 'W/"7"'}).status_code == 200


def test_if_modified_since_is_304_unless_changed_later(client):
    reference = create(client, patient())
    last_modified = client.get(f"/fhir/{reference}").headers["Last-Modified"]
    assert client.get(f"/fhir/{reference}", headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert client.get(f"/fhir/{reference}", headers={"If-Modified-Since": earlier}).status_code == 200
