"""transaction Bundles: https://hl7.org/fhir/R4/http.html#transaction"""

import json

from tests.fhir_client import assert_outcome, create, patient, post


def _transaction(*entries):
    return {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}


def _observation(subject: str, text: str = "x") -> dict:
    return {"resourceType": "Observation", "status": "final", "code": {"text": text}, "subject": {"reference": subject}}


def _post_entry(resource, full_url=None, **request):
    entry = {"resource": resource, "request": {"method": "POST", "url": resource["resourceType"], **request}}
    return {**({"fullUrl": full_url} if full_url else {}), **entry}


def _count(client, resource_type):
    return len(client.get(f"/fhir/{resource_type}?_count=1000").get_json(force=True)["entry"])


def test_transaction_resolves_urn_uuid_references_everywhere(client):
    encounter = {"resourceType": "Encounter", "status": "finished", "class": {"code": "AMB"},
                 "subject": {"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"}}
    observation = _observation("urn:uuid:11111111-1111-1111-1111-111111111111")
    observation["encounter"] = {"reference": "urn:uuid:22222222-2222-2222-2222-222222222222"}
    observation["hasMember"] = [{"reference": "urn:uuid:11111111-1111-1111-1111-111111111111"}]
    bundle = _transaction(
        _post_entry(observation),
        _post_entry(encounter, "urn:uuid:22222222-2222-2222-2222-222222222222"),
        _post_entry(patient("t1"), "urn:uuid:11111111-1111-1111-1111-111111111111"),
    )
    response = post(client, "", bundle)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json(force=True)
    assert result["type"] == "transaction-response"
    locations = [entry["response"]["location"] for entry in result["entry"]]
    assert [location.split("/")[0] for location in locations] == ["Observation", "Encounter", "Patient"]
    assert all(entry["response"]["status"] == "201 Created" for entry in result["entry"])
    patient_reference = "/".join(locations[2].split("/")[:2])
    stored = client.get("/fhir/" + "/".join(locations[0].split("/")[:2])).get_json(force=True)
    assert stored["subject"]["reference"] == patient_reference
    assert stored["hasMember"][0]["reference"] == patient_reference
    assert stored["encounter"]["reference"] == "/".join(locations[1].split("/")[:2])


def test_transaction_is_all_or_nothing(client):
    bundle = _transaction(_post_entry(patient("t2")),
                          _post_entry({"resourceType": "Observation", "status": "final"}))  # no code: invalid
    outcome = assert_outcome(post(client, "", bundle), 400)
    assert "Bundle.entry[1]" in outcome["issue"][0]["diagnostics"]
    assert _count(client, "Patient") == 0


def test_transaction_failing_late_rolls_back_earlier_writes(client):
    existing = create(client, patient("t3"))
    bundle = _transaction(
        {"request": {"method": "DELETE", "url": existing}},
        _post_entry(patient("t4")),
        {"resource": patient("t5", id="stale"), "request": {"method": "PUT", "url": "Patient/stale", "ifMatch": 'W/"4"'}},
    )
    assert_outcome(post(client, "", bundle), 412)
    assert client.get(f"/fhir/{existing}").status_code == 200
    assert _count(client, "Patient") == 1


def test_transaction_processes_deletes_posts_puts_then_gets(client):
    doomed = create(client, patient("gone"))
    bundle = _transaction(
        {"request": {"method": "GET", "url": "Patient?identifier=new"}},
        {"resource": patient("kept", id="kept"), "request": {"method": "PUT", "url": "Patient/kept"}},
        _post_entry(patient("new")),
        {"request": {"method": "DELETE", "url": doomed}},
    )
    result = post(client, "", bundle).get_json(force=True)
    statuses = [entry["response"]["status"] for entry in result["entry"]]
    assert statuses == ["200 OK", "201 Created", "201 Created", "204 No Content"]
    searchset = result["entry"][0]["resource"]
    assert len(searchset["entry"]) == 1, "the GET runs after the POST and sees it"


def test_conditional_reference_resolves_to_exactly_one_existing_resource(client):
    reference = create(client, patient("t6"))
    bundle = _transaction(_post_entry(_observation("Patient?identifier=http://hospital.test/mrn|t6")))
    location = post(client, "", bundle).get_json(force=True)["entry"][0]["response"]["location"]
    stored = client.get("/fhir/" + "/".join(location.split("/")[:2])).get_json(force=True)
    assert stored["subject"]["reference"] == reference


def test_conditional_reference_without_match_fails_the_transaction(client):
    assert_outcome(post(client, "", _transaction(_post_entry(_observation("Patient?identifier=nobody")))), 412,
                   "matches no resource")
    assert _count(client, "Observation") == 0


def test_conditional_reference_with_several_matches_fails(client):
    create(client, patient("twin"))
    create(client, patient("twin"))
    assert_outcome(post(client, "", _transaction(_post_entry(_observation("Patient?identifier=twin")))), 412,
                   "more than one")


def test_unresolvable_urn_uuid_reference_is_400(client):
    assert_outcome(post(client, "", _transaction(_post_entry(_observation("urn:uuid:nobody")))), 400, "urn:uuid:nobody")


def test_if_none_exist_in_transaction_reuses_the_match_for_references(client):
    reference = create(client, patient("t7"))
    bundle = _transaction(
        _post_entry(patient("t7"), "urn:uuid:p", ifNoneExist="identifier=http://hospital.test/mrn|t7"),
        _post_entry(_observation("urn:uuid:p")),
    )
    result = post(client, "", bundle).get_json(force=True)
    assert result["entry"][0]["response"]["status"] == "200 OK"
    assert result["entry"][0]["response"]["location"].startswith(reference + "/_history/")
    location = result["entry"][1]["response"]["location"]
    stored = client.get("/fhir/" + "/".join(location.split("/")[:2])).get_json(force=True)
    assert stored["subject"]["reference"] == reference
    assert _count(client, "Patient") == 1


def test_conditional_reference_finds_resource_created_in_same_transaction(client):
    bundle = _transaction(
        _post_entry(patient("t8"), "urn:uuid:q", ifNoneExist="identifier=http://hospital.test/mrn|t8"),
        _post_entry(_observation("Patient?identifier=http://hospital.test/mrn|t8")),
    )
    result = post(client, "", bundle).get_json(force=True)
    patient_reference = "/".join(result["entry"][0]["response"]["location"].split("/")[:2])
    observation = "/".join(result["entry"][1]["response"]["location"].split("/")[:2])
    assert client.get(f"/fhir/{observation}").get_json(force=True)["subject"]["reference"] == patient_reference


def test_conditional_update_entry_targets_the_match(client):
    reference = create(client, patient("t9"))
    bundle = _transaction({"resource": patient("t9", gender="female"),
                           "request": {"method": "PUT", "url": "Patient?identifier=t9"}})
    result = post(client, "", bundle).get_json(force=True)
    assert result["entry"][0]["response"]["status"] == "200 OK"
    assert client.get(f"/fhir/{reference}").get_json(force=True)["gender"] == "female"


def test_prefer_representation_returns_resources_in_entries(client):
    bundle = _transaction(_post_entry(patient("t10")))
    result = post(client, "", bundle, {"Prefer": "return=representation"}).get_json(force=True)
    assert result["entry"][0]["resource"]["identifier"][0]["value"] == "t10"
    minimal = post(client, "", _transaction(_post_entry(patient("t11")))).get_json(force=True)
    assert "resource" not in minimal["entry"][0]


def test_same_resource_changed_twice_is_400(client):
    bundle = _transaction(
        {"resource": patient(id="x"), "request": {"method": "PUT", "url": "Patient/x"}},
        {"request": {"method": "DELETE", "url": "Patient/x"}},
    )
    assert_outcome(post(client, "", bundle), 400, "more than one entry")


def test_json_patch_entry_as_binary(client):
    import base64

    reference = create(client, patient("t12"))
    operations = base64.b64encode(json.dumps([{"op": "add", "path": "/active", "value": True}]).encode()).decode()
    bundle = _transaction({"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json",
                                        "data": operations},
                           "request": {"method": "PATCH", "url": reference}})
    assert post(client, "", bundle).status_code == 200
    assert client.get(f"/fhir/{reference}").get_json(force=True)["active"] is True


def test_bundle_of_wrong_type_is_400(client):
    assert_outcome(post(client, "", {"resourceType": "Bundle", "type": "collection"}), 400, "collection")
    assert_outcome(post(client, "", patient()), 400, "Bundle")


def test_entry_without_request_is_400(client):
    assert_outcome(post(client, "", _transaction({"resource": patient()})), 400, "request.url")


def test_ten_thousand_entry_transaction_succeeds(client):
    entries = [_post_entry(patient("big"), "urn:uuid:00000000-0000-0000-0000-000000000000")]
    entries += [_post_entry(_observation("urn:uuid:00000000-0000-0000-0000-000000000000", str(number)))
                for number in range(9_999)]
    response = post(client, "", _transaction(*entries))
    assert response.status_code == 200
    result = response.get_json(force=True)
    assert len(result["entry"]) == 10_000
    assert {entry["response"]["status"] for entry in result["entry"]} == {"201 Created"}
    patient_id = result["entry"][0]["response"]["location"].split("/")[1]
    page = client.get("/fhir/Observation?_count=1").get_json(force=True)
    assert page["entry"][0]["resource"]["subject"]["reference"] == f"Patient/{patient_id}"
