"""search by `_id` and token parameters such as identifier (the rest arrives with the search issue)."""

from tests.fhir_client import assert_outcome, create, patient


def _ids(bundle):
    return sorted(entry["resource"]["id"] for entry in bundle["entry"] if entry["search"]["mode"] == "match")


def test_search_by_identifier_system_and_value(client):
    wanted = create(client, patient("s1")).split("/")[1]
    create(client, patient("s2"))
    create(client, {"resourceType": "Patient", "identifier": [{"system": "http://other.test", "value": "s1"}]})
    bundle = client.get("/fhir/Patient?identifier=http://hospital.test/mrn|s1").get_json(force=True)
    assert bundle["type"] == "searchset"
    assert _ids(bundle) == [wanted]


def test_search_by_identifier_value_matches_any_system(client):
    first = create(client, patient("s3")).split("/")[1]
    second = create(client, {"resourceType": "Patient", "identifier": [{"system": "http://other.test", "value": "s3"}]})
    assert _ids(client.get("/fhir/Patient?identifier=s3").get_json(force=True)) == sorted([first, second.split("/")[1]])


def test_search_values_are_or_and_repeated_parameters_are_and(client):
    a = create(client, patient("a")).split("/")[1]
    b = create(client, patient("b")).split("/")[1]
    assert _ids(client.get("/fhir/Patient?identifier=a,b").get_json(force=True)) == sorted([a, b])
    assert _ids(client.get(f"/fhir/Patient?identifier=a,b&_id={a}").get_json(force=True)) == [a]


def test_search_by_code_token(client):
    wanted = create(client, {"resourceType": "Observation", "status": "final",
                             "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]}}).split("/")[1]
    create(client, {"resourceType": "Observation", "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]}})
    assert _ids(client.get("/fhir/Observation?code=http://loinc.org|4548-4").get_json(force=True)) == [wanted]


def test_unknown_parameter_is_ignored_and_reported(client):
    create(client, patient())
    bundle = client.get("/fhir/Patient?shoe-size=42").get_json(force=True)
    assert len(_ids(bundle)) == 1
    outcomes = [entry for entry in bundle["entry"] if entry["search"]["mode"] == "outcome"]
    assert "shoe-size" in outcomes[0]["resource"]["issue"][0]["diagnostics"]
    assert "shoe-size" not in bundle["link"][0]["url"]


def test_unknown_parameter_with_strict_handling_is_400(client):
    assert_outcome(client.get("/fhir/Patient?shoe-size=42", headers={"Prefer": "handling=strict"}), 400, "shoe-size")


def test_unsupported_modifier_is_400_naming_it(client):
    assert_outcome(client.get("/fhir/Patient?identifier:of-type=x"), 400, ":of-type")


def test_a_date_with_an_offset_of_a_day_or_more_is_400(client):
    for value in ("2020-01-01T10:00%2B25:00", "2020-01-01T10:00:00-24:00", "9999-01-01T10:00%2B23:75"):
        assert_outcome(client.get(f"/fhir/Observation?date={value}"), 400, "is not a date")


def test_search_pages_follow_next_links_without_repeats(client):
    created = sorted(create(client, patient(str(number))).split("/")[1] for number in range(7))
    seen, url = [], "/fhir/Patient?_count=3"
    while url:
        bundle = client.get(url).get_json(force=True)
        seen += [entry["resource"]["id"] for entry in bundle["entry"]]
        next_link = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = next_link[0].split("http://fhir.test", 1)[1] if next_link else None
    assert seen == created


def test_post_search_with_form_body(client):
    wanted = create(client, patient("f1")).split("/")[1]
    response = client.post("/fhir/Patient/_search", data={"identifier": "f1"})
    assert _ids(response.get_json(force=True)) == [wanted]


def test_hostile_search_value_is_just_a_value(client):
    create(client, patient())
    bundle = client.get("/fhir/Patient?identifier=x' OR '1'='1").get_json(force=True)
    assert bundle["entry"] == []
    assert client.get("/fhir/Patient").get_json(force=True)["entry"]


def test_post_search_next_link_is_a_get_on_the_type(client):
    for number in range(3):
        create(client, patient(f"n{number}"))
    bundle = client.post("/fhir/Patient/_search?_count=2", data={"identifier": "n0,n1,n2"}).get_json(force=True)
    following = [link["url"] for link in bundle["link"] if link["relation"] == "next"][0]
    assert "/Patient?" in following
    page = client.get(following.split("http://fhir.test", 1)[1])
    assert page.status_code == 200 and len(page.get_json(force=True)["entry"]) == 1


def test_cursor_with_values_of_the_wrong_type_is_400(client):
    import base64
    import json

    create(client, patient())
    for sort, values in (("_lastUpdated", ["yesterday", "x"]), ("birthdate", [True, "x"]), ("family", [5, "x"])):
        forged = base64.urlsafe_b64encode(json.dumps({"after": values}).encode()).decode().rstrip("=")
        response = client.get(f"/fhir/Patient?_sort={sort}&_cursor={forged}")
        assert_outcome(response, 400, "_cursor")


def test_reference_with_a_very_long_type_like_segment_is_stored_and_found(client):
    reference = "http://elsewhere.test/" + "A" * 80 + "/1"
    observation = {"resourceType": "Observation", "status": "final", "code": {"text": "x"},
                   "subject": {"reference": reference}}
    created = create(client, observation)
    found = client.get(f"/fhir/Observation?subject={reference}").get_json(force=True)["entry"]
    assert [entry["resource"]["id"] for entry in found] == [created.split("/")[1]]
