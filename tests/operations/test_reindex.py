"""$reindex and `fhir-server reindex` rebuild the index of stored resources."""

from __future__ import annotations

from sqlalchemy import delete

from fhir_server.storage.reindex import reindex
from fhir_server.storage.tables import INDEX_TABLES
from tests.fhir_client import assert_outcome, patient, put


def _ids(client, query: str) -> set[str]:
    bundle = client.get(f"/fhir/{query}").get_json(force=True)
    return {entry["resource"]["id"] for entry in bundle.get("entry", [])}


def test_reindex_restores_a_lost_index_in_small_batches(app, client):
    for number in range(7):
        put(client, f"Patient/p{number}", patient(mrn=str(number), id=f"p{number}"))
    client.delete("/fhir/Patient/p6")
    repository = app.extensions["fhir"].repository
    with repository.database.write() as connection:
        for table in INDEX_TABLES.values():
            connection.execute(delete(table))
    assert _ids(client, "Patient?identifier=3") == set()
    seen = []
    assert reindex(repository, batch=2, progress=seen.append) == 6  # the deleted one stays out
    assert seen == [2, 4, 6]
    assert _ids(client, "Patient?identifier=3") == {"p3"} and _ids(client, "Patient?identifier=6") == set()


def test_system_reindex_counts_every_current_resource(client):
    put(client, "Patient/a", patient(id="a"))
    put(client, "Organization/o", {"resourceType": "Organization", "id": "o", "name": "Asan"})
    response = client.post("/fhir/$reindex")
    assert response.status_code == 200
    assert response.get_json(force=True) == {"resourceType": "Parameters",
                                             "parameter": [{"name": "count", "valueInteger": 2}]}


def test_reindex_is_not_part_of_a_transaction(client):
    bundle = {"resourceType": "Bundle", "type": "transaction",
              "entry": [{"request": {"method": "POST", "url": "$reindex"}}]}
    assert_outcome(client.post("/fhir", json=bundle), 400, "transactions of its own")


def test_reindex_of_an_unknown_type_is_404(client):
    assert_outcome(client.post("/fhir/Spaceship/$reindex"), 404)
