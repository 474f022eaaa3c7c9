"""Paths of the SQL backend that the contract dataset reaches too rarely: pages inside the resources that
lack the sort value, and parameters of which one resource has several values."""

import pytest
from sqlalchemy import create_engine, select

from fhir_server.storage.tables import multiple_values
from tests.fhir_client import last_page_url, pages, put

# Hand-ordered by -birthdate, then id; the five without a birthDate come last, by id.
BORN = {"p1": "1990-05-01", "p2": "1985-01-01", "p3": "1990-05-01", "p4": "2001-12-31"}
WITHOUT = {"q1": "male", "q2": "female", "q3": "male", "q4": "female", "q5": "unknown"}


def _put(client, resource):
    response = put(client, f"{resource['resourceType']}/{resource['id']}", resource)
    assert response.status_code in (200, 201), response.get_data(as_text=True)


@pytest.fixture
def patients(client):
    for id_, born in BORN.items():
        _put(client, {"resourceType": "Patient", "id": id_, "birthDate": born})
    for id_, gender in WITHOUT.items():
        _put(client, {"resourceType": "Patient", "id": id_, "gender": gender})
    return client


def test_sorted_pages_run_through_resources_without_a_value_and_back(patients):
    forward = pages(patients, "/fhir/Patient?_sort=-birthdate&_count=2", "next")
    assert forward == [["p4", "p1"], ["p3", "p2"], ["q1", "q2"], ["q3", "q4"], ["q5"]]
    backward = pages(patients, last_page_url(patients, "/fhir/Patient?_sort=-birthdate&_count=2"), "previous")
    assert backward == forward[::-1]


def test_a_second_sort_key_orders_the_resources_without_the_first_both_ways(patients):
    first = "/fhir/Patient?_sort=-birthdate,gender&_count=2"
    forward = pages(patients, first, "next")
    assert forward == [["p4", "p1"], ["p3", "p2"], ["q2", "q4"], ["q1", "q3"], ["q5"]]
    assert pages(patients, last_page_url(patients, first), "previous") == forward[::-1]


def test_a_filtered_sort_keeps_the_order_on_both_sides_of_the_missing_values(patients):
    found = pages(patients, "/fhir/Patient?_sort=-birthdate&_id=p1,p2,q2,q5&_count=1", "next")
    assert [id_ for page in found for id_ in page] == ["p1", "p2", "q2", "q5"]


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


def test_a_resource_with_a_value_in_each_part_of_a_union_is_counted_and_sorted_once(client, database_url):
    """combo-code joins code and component-code: one row of each is no parameter with several values, yet two
    matches of the union."""
    for id_, code, component in (("o1", "A", "C"), ("o2", "B", "D")):
        _put(client, {"resourceType": "Observation", "id": id_, "status": "final", "code": {"coding": [{"code": code}]},
                      "component": [{"code": {"coding": [{"code": component}]}}]})
    assert client.get("/fhir/Observation?combo-code=A,C,D&_summary=count").get_json(force=True)["total"] == 2
    for sort, expected in (("combo-code", ["o1", "o2"]), ("-combo-code", ["o2", "o1"])):
        found = client.get(f"/fhir/Observation?_sort={sort}&_count=10").get_json(force=True)["entry"]
        assert [entry["resource"]["id"] for entry in found] == expected
