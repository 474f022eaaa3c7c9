"""history: https://hl7.org/fhir/R4/http.html#history"""

import time
from urllib.parse import urlsplit

from tests.fhir_client import assert_outcome, create, patient, put


def _follow(client, url):
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}").get_json(force=True)


def test_instance_history_lists_versions_newest_first_with_deletion(client):
    reference = create(client, patient())
    body = client.get(f"/fhir/{reference}").get_json(force=True)
    body["active"] = True
    put(client, reference, body)
    client.delete(f"/fhir/{reference}")
    bundle = client.get(f"/fhir/{reference}/_history").get_json(force=True)
    assert bundle["type"] == "history"
    entries = bundle["entry"]
    assert [entry["response"]["etag"] for entry in entries] == ['W/"3"', 'W/"2"', 'W/"1"']
    assert [entry["request"]["method"] for entry in entries] == ["DELETE", "PUT", "POST"]
    assert "resource" not in entries[0]
    assert entries[1]["resource"]["active"] is True
    assert entries[2]["request"]["url"] == "Patient"


def test_instance_history_of_unknown_resource_is_404(client):
    assert_outcome(client.get("/fhir/Patient/unknown/_history"), 404)


def test_type_history_pages_with_count_and_next_links(client):
    references = [create(client, patient(str(number))) for number in range(5)]
    create(client, {"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
    seen = []
    page = client.get("/fhir/Patient/_history?_count=2").get_json(force=True)
    while True:
        seen += [entry["fullUrl"].split("/fhir/")[1] for entry in page["entry"]]
        links = {link["relation"]: link["url"] for link in page["link"]}
        assert "_count=2" in links["self"]
        if "next" not in links:
            break
        page = _follow(client, links["next"])
    assert seen == list(reversed(references))


def test_system_history_includes_every_type(client):
    create(client, patient())
    create(client, {"resourceType": "Observation", "status": "final", "code": {"text": "x"}})
    types = {entry["resource"]["resourceType"] for entry in client.get("/fhir/_history").get_json(force=True)["entry"]}
    assert types == {"Patient", "Observation"}


def test_history_since_excludes_older_versions(client):
    create(client, patient("old"))
    time.sleep(0.05)
    newer = create(client, patient("new"))
    since = client.get(f"/fhir/{newer}").get_json(force=True)["meta"]["lastUpdated"]
    bundle = client.get(f"/fhir/Patient/_history?_since={since}").get_json(force=True)
    assert [entry["resource"]["identifier"][0]["value"] for entry in bundle["entry"]] == ["new"]


def test_history_with_invalid_since_or_count_is_400(client):
    assert_outcome(client.get("/fhir/_history?_since=last-tuesday"), 400, "_since")
    assert_outcome(client.get("/fhir/_history?_count=-1"), 400, "_count")
