"""update, update-as-create and conditional update: https://hl7.org/fhir/R4/http.html#update"""

from tests.fhir_client import assert_outcome, create, patient, put


def _current(client, reference):
    return client.get(f"/fhir/{reference}").get_json(force=True)


def test_update_makes_a_new_version(client):
    reference = create(client, patient())
    body = _current(client, reference)
    body["gender"] = "female"
    response = put(client, reference, body)
    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'
    assert response.get_json(force=True)["meta"]["versionId"] == "2"
    assert _current(client, reference)["gender"] == "female"


def test_update_with_unknown_id_creates_with_that_id(client):
    response = put(client, "Patient/client-id-1", patient(id="client-id-1"))
    assert response.status_code == 201
    assert response.headers["Location"].endswith("/Patient/client-id-1/_history/1")


def test_update_that_changes_nothing_keeps_the_version(client):
    response = put(client, "Patient/same", patient(id="same"))
    again = put(client, "Patient/same", patient(id="same"))
    assert again.status_code == 200
    assert again.headers["ETag"] == response.headers["ETag"] == 'W/"1"'
    told = put(client, "Patient/same", patient(id="same"), {"Prefer": "return=OperationOutcome"})
    assert told.get_json()["issue"][0]["diagnostics"] == "`Patient/same` is unchanged: no new version."


def test_update_with_id_differing_from_url_is_409(client):
    assert_outcome(put(client, "Patient/one", patient(id="two")), 409, "differs")


def test_update_without_id_in_body_is_400(client):
    assert_outcome(put(client, "Patient/one", patient()), 400, "id")


def test_update_with_stale_if_match_is_412(client):
    reference = create(client, patient())
    body = _current(client, reference)
    body["active"] = True
    assert put(client, reference, body, {"If-Match": 'W/"1"'}).status_code == 200
    body["active"] = False
    assert_outcome(put(client, reference, body, {"If-Match": 'W/"1"'}), 412, "version `2`")


def test_update_with_malformed_if_match_is_400(client):
    reference = create(client, patient())
    assert_outcome(put(client, reference, _current(client, reference), {"If-Match": "yesterday"}), 400, "If-Match")


def test_conditional_update_without_match_creates(client):
    response = put(client, "Patient?identifier=http://hospital.test/mrn|c1", patient("c1"))
    assert response.status_code == 201


def test_conditional_update_with_one_match_updates_it(client):
    reference = create(client, patient("c2"))
    response = put(client, "Patient?identifier=c2", patient("c2", gender="other"))
    assert response.status_code == 200
    assert response.get_json(force=True)["id"] == reference.split("/")[1]
    assert _current(client, reference)["gender"] == "other"


def test_conditional_update_with_several_matches_is_412(client):
    create(client, patient("c3"))
    create(client, patient("c3"))
    assert_outcome(put(client, "Patient?identifier=c3", patient("c3")), 412)


def test_conditional_update_with_body_id_of_other_match_is_400(client):
    create(client, patient("c4"))
    assert_outcome(put(client, "Patient?identifier=c4", patient("c4", id="elsewhere")), 400, "differs")


def test_put_on_type_without_criteria_is_400(client):
    assert_outcome(put(client, "Patient", patient()), 400)
