"""Concurrent writers: versions never repeat or skip; one stale If-Match wins, the other gets 412."""

import threading

from fhir_server.app import create_app
from tests.fhir_client import create, patient, put


def _race(count, action):
    barrier = threading.Barrier(count)
    results = [None] * count

    def run(index):
        barrier.wait()
        results[index] = action(index)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_same_if_match_from_two_clients_exactly_one_succeeds(settings):
    # Each thread has its own app, as separate server processes would.
    apps = [create_app(settings) for _ in range(2)]
    reference = create(apps[0].test_client(), patient())
    for round_number in range(5):
        version = round_number + 1

        def update(index):
            body = patient(id=reference.split("/")[1], gender=["male", "female"][index], birthDate=f"19{50 + round_number}-01-01")
            return put(apps[index].test_client(), reference, body, {"If-Match": f'W/"{version}"'}).status_code

        assert sorted(_race(2, update)) == [200, 412]
    history = apps[0].test_client().get(f"/fhir/{reference}/_history").get_json(force=True)
    assert [entry["response"]["etag"] for entry in history["entry"]] == [f'W/"{n}"' for n in range(6, 0, -1)]
    for app in apps:
        app.extensions["fhir"].repository.database.dispose()


def test_concurrent_updates_without_if_match_get_consecutive_versions(settings):
    apps = [create_app(settings) for _ in range(4)]
    reference = create(apps[0].test_client(), patient())

    def update(index):
        statuses = []
        for step in range(5):
            body = patient(id=reference.split("/")[1], birthDate=f"19{index}{step}-01-01")
            statuses.append(put(apps[index].test_client(), reference, body).status_code)
        return statuses

    assert all(status == 200 for statuses in _race(4, update) for status in statuses)
    history = apps[0].test_client().get(f"/fhir/{reference}/_history?_count=100").get_json(force=True)
    versions = sorted(int(entry["resource"]["meta"]["versionId"]) for entry in history["entry"])
    assert versions == list(range(1, 22))
    for app in apps:
        app.extensions["fhir"].repository.database.dispose()


def test_concurrent_conditional_creates_make_one_resource(settings):
    apps = [create_app(settings) for _ in range(4)]

    def conditional_create(index):
        response = apps[index].test_client().post(
            "/fhir/Patient", json=patient("race"),
            headers={"If-None-Exist": "identifier=http://hospital.test/mrn|race"})
        return response.status_code, response.get_data(as_text=True)[:300]

    results = _race(4, conditional_create)
    assert sorted(status for status, _ in results) == [200, 200, 200, 201], results
    for app in apps:
        app.extensions["fhir"].repository.database.dispose()
