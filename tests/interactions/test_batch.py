"""batch Bundles: https://hl7.org/fhir/R4/http.html#transaction"""

from tests.fhir_client import create, patient, post


def test_batch_processes_entries_independently_with_outcomes(client):
    existing = create(client, patient("b1"))
    bundle = {"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": patient("b2"), "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": 3}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": existing}},
        {"request": {"method": "GET", "url": "Patient/missing"}},
        {"request": {"method": "TELEPORT", "url": "Patient"}},
    ]}
    response = post(client, "", bundle)
    assert response.status_code == 200
    result = response.get_json(force=True)
    assert result["type"] == "batch-response"
    statuses = [entry["response"]["status"] for entry in result["entry"]]
    assert statuses == ["201 Created", "400 Bad Request", "200 OK", "404 Not Found", "400 Bad Request"]
    assert result["entry"][1]["response"]["outcome"]["resourceType"] == "OperationOutcome"
    assert "Bundle.entry[1]" in result["entry"][1]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert result["entry"][2]["resource"]["id"] == existing.split("/")[1]
    patients = client.get("/fhir/Patient").get_json(force=True)["entry"]
    assert len(patients) == 2, "the failed entry did not undo the created one"
