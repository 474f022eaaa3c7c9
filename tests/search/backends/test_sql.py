"""Paths of the SQL backend that the contract dataset reaches too rarely: pages inside the resources that
lack the sort value, and parameters of which one resource has several values."""

import pytest
from sqlalchemy import create_engine, select

from fhir_server.storage.tables import multiple_values

# Hand-ordered by -birthdate, then id; the five without a birthDate come last, by id.
BORN = {"p1": "1990-05-01", "p2": "1985-01-01", "p3": "1990-05-01", "p4": "2001-12-31"}
WITHOUT = ["q1", "q2", "q3", "q4", "q5"]


def _put(client, resource):
    response = client.put(f"/fhir/{resource['resourceType']}/{resource['id']}", json=resource)
    assert response.status_code in (200, 201), response.get_data(as_text=True)


def _pages(client, url, relation):
    pages = []
    while url:
        bundle = client.get(url).get_json(force=True)
        pages.append([entry["resource"]["id"] for entry in bundle["entry"]])
        following = [link["url"] for link in bundle["link"] if link["relation"] == relation]
        url = following[0].split("http://fhir.test", 1)[1] if following else None
    return pages


def _last_page_url(client, url):
    while True:
        links = {link["relation"]: link["url"] for link in client.get(url).get_json(force=True)["link"]}
        if "next" not in links:
            return url
        url = links["next"].split("http://fhir.test", 1)[1]


@pytest.fixture
def patients(client):
    for id_, born in BORN.items():
        _put(client, {"resourceType": "Patient", "id": id_, "birthDate": born})
    for id_ in WITHOUT:
        _put(client, {"resourceType": "Patient", "id": id_, "gender": "unknown"})
    return client


def test_sorted_pages_run_through_resources_without_a_value_and_back(patients):
    forward = _pages(patients, "/fhir/Patient?_sort=-birthdate&_count=2", "next")
    assert forward == [["p4", "p1"], ["p3", "p2"], ["q1", "q2"], ["q3", "q4"], ["q5"]]
    backward = _pages(patients, _last_page_url(patients, "/fhir/Patient?_sort=-birthdate&_count=2"), "previous")
    assert backward == forward[::-1]


def test_a_filtered_sort_keeps_the_order_on_both_sides_of_the_missing_values(patients):
    pages = _pages(patients, "/fhir/Patient?_sort=-birthdate&_id=p1,p2,q2,q5&_count=1", "next")
    assert [id_ for page in pages for id_ in page] == ["p1", "p2", "q2", "q5"]


def _observation(id_, *systems):
    return {"resourceType": "Observation", "id": id_, "status": "final",
            "code": {"coding": [{"system": system, "code": "X1"} for system in systems]}}


def test_a_resource_with_two_matching_values_is_counted_and_sorted_once(client, database_url):
    _put(client, _observation("o1", "http://a.test"))
    _put(client, _observation("o2", "http://a.test", "http://b.test"))
    _put(client, _observation("o3", "http://b.test"))
    assert client.get("/fhir/Observation?code=X1&_summary=count").get_json(force=True)["total"] == 3
    sorted_ids = [entry["resource"]["id"] for entry in
                  client.get("/fhir/Observation?_sort=code&_count=10").get_json(force=True)["entry"]]
    assert sorted_ids == ["o1", "o2", "o3"]
    engine = create_engine(database_url)
    with engine.connect() as connection:
        recorded = set(connection.execute(select(multiple_values)).all())
    engine.dispose()
    assert ("search_token", "Observation", "code") in recorded
    assert ("search_token", "Observation", "status") not in recorded
