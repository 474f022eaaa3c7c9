"""Patient/{id}/$everything returns the patient's compartment and what it refers to
(https://hl7.org/fhir/R4/patient-operation-everything.html)."""

from __future__ import annotations

from tests.fhir_client import assert_outcome, put


def _record(client) -> None:
    put(client, "Organization/org", {"resourceType": "Organization", "id": "org", "name": "Asan"})
    put(client, "Practitioner/doc", {"resourceType": "Practitioner", "id": "doc"})
    put(client, "Medication/med", {"resourceType": "Medication", "id": "med"})
    for id_ in ("kim", "lee"):
        put(client, f"Patient/{id_}", {"resourceType": "Patient", "id": id_,
                                             "managingOrganization": {"reference": "Organization/org"}})
    put(client, "Encounter/e1", {"resourceType": "Encounter", "id": "e1", "status": "finished",
                                       "class": {"code": "AMB"}, "subject": {"reference": "Patient/kim"},
                                       "participant": [{"individual": {"reference": "Practitioner/doc"}}]})
    put(client, "Observation/o1", {"resourceType": "Observation", "id": "o1", "status": "final",
                                         "code": {"text": "x"}, "subject": {"reference": "Patient/kim"},
                                         "encounter": {"reference": "Encounter/e1"}})
    put(client, "MedicationRequest/m1", {"resourceType": "MedicationRequest", "id": "m1", "status": "active",
                                               "intent": "order", "subject": {"reference": "Patient/kim"},
                                               "medicationReference": {"reference": "Medication/med"}})
    put(client, "Observation/o2", {"resourceType": "Observation", "id": "o2", "status": "final",
                                         "code": {"text": "x"}, "subject": {"reference": "Patient/lee"}})


def _modes(bundle) -> dict[str, set[str]]:
    modes: dict[str, set[str]] = {}
    for entry in bundle["entry"]:
        modes.setdefault(entry["search"]["mode"], set()).add(
            f"{entry['resource']['resourceType']}/{entry['resource']['id']}")
    return modes


def test_everything_is_the_compartment_and_what_it_refers_to(client):
    _record(client)
    response = client.get("/fhir/Patient/kim/$everything")
    assert response.status_code == 200
    bundle = response.get_json(force=True)
    assert bundle["type"] == "searchset"
    assert _modes(bundle) == {
        "match": {"Patient/kim", "Encounter/e1", "Observation/o1", "MedicationRequest/m1"},
        "include": {"Organization/org", "Practitioner/doc", "Medication/med"},
    }


def test_everything_with_type_and_since(client):
    _record(client)
    assert _modes(client.get("/fhir/Patient/kim/$everything?_type=Observation").get_json(force=True))["match"] == {
        "Patient/kim", "Observation/o1"}
    late = client.get("/fhir/Patient/kim/$everything?_since=2999-01-01").get_json(force=True)
    assert late["type"] == "searchset" and not late.get("entry")  # _since applies to the patient too


def test_everything_errors(client):
    _record(client)
    assert_outcome(client.get("/fhir/Patient/nobody/$everything"), 404)
    assert_outcome(client.get("/fhir/Patient/kim/$everything?_type=Organization"), 400, "_type")
    assert_outcome(client.get("/fhir/Patient/kim/$everything?_since=yesterday"), 400, "_since")
    assert_outcome(client.get("/fhir/Observation/o1/$everything"), 404)


def test_everything_pages_with_count_and_next_links(client):
    _record(client)
    url, pages = "/fhir/Patient/kim/$everything?_count=2", []
    while url:
        bundle = client.get(url).get_json(force=True)
        pages.append([f"{entry['resource']['resourceType']}/{entry['resource']['id']}" for entry in bundle["entry"]
                      if entry["search"]["mode"] == "match"])
        following = [link["url"] for link in bundle["link"] if link["relation"] == "next"]
        url = following[0].split("http://fhir.test", 1)[1] if following else None
    assert pages == [["Patient/kim", "Encounter/e1"], ["MedicationRequest/m1", "Observation/o1"]]


def test_a_forged_cursor_is_400(client):
    import base64
    import json

    _record(client)
    forged = base64.urlsafe_b64encode(json.dumps({"after": ["Spaceship", "x"]}).encode()).decode().rstrip("=")
    assert_outcome(client.get(f"/fhir/Patient/kim/$everything?_cursor={forged}"), 400, "_cursor")
