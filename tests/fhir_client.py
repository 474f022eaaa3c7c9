"""Small helpers for talking FHIR JSON to the Flask test client."""

from __future__ import annotations

import json

FHIR_JSON = "application/fhir+json"


def post(client, path: str, resource, headers: dict | None = None):
    return client.post(f"/fhir/{path}", data=json.dumps(resource), headers={"Content-Type": FHIR_JSON, **(headers or {})})


def put(client, path: str, resource, headers: dict | None = None):
    return client.put(f"/fhir/{path}", data=json.dumps(resource), headers={"Content-Type": FHIR_JSON, **(headers or {})})


def created_reference(response) -> str:
    """`Patient/abc` from a 201's Location `.../fhir/Patient/abc/_history/1`."""
    return response.headers["Location"].split("/fhir/", 1)[1].rsplit("/_history/", 1)[0]


def create(client, resource) -> str:
    response = post(client, resource["resourceType"], resource)
    assert response.status_code == 201, response.get_data(as_text=True)
    return created_reference(response)


def assert_outcome(response, status: int, text: str | None = None) -> dict:
    """The response is an OperationOutcome with ``status``, mentioning ``text`` if given."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type.startswith(FHIR_JSON)
    outcome = response.get_json(force=True)
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"], "an OperationOutcome needs at least one issue"
    if text is not None:
        diagnostics = " ".join(issue.get("diagnostics", "") for issue in outcome["issue"])
        assert text in diagnostics, diagnostics
    return outcome


def patient(mrn: str = "1", **extra) -> dict:
    return {"resourceType": "Patient", "identifier": [{"system": "http://hospital.test/mrn", "value": mrn}],
            "name": [{"family": "김", "given": ["민준"]}], **extra}


def pages(client, url: str, relation: str = "next") -> list[list[str]]:
    """The match ids of each page, following ``relation`` links from ``url`` until there is none."""
    found = []
    while url:
        bundle = client.get(url).get_json(force=True)
        found.append([entry["resource"]["id"] for entry in bundle["entry"] if entry["search"]["mode"] == "match"])
        following = [link["url"] for link in bundle["link"] if link["relation"] == relation]
        url = following[0].split("http://fhir.test", 1)[1] if following else None
    return found


def last_page_url(client, url: str) -> str:
    """The URL of the last page, following ``next`` links from ``url``."""
    while True:
        links = {link["relation"]: link["url"] for link in client.get(url).get_json(force=True)["link"]}
        if "next" not in links:
            return url
        url = links["next"].split("http://fhir.test", 1)[1]
