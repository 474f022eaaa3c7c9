"""The seam: every request, and every entry of a Bundle, is seen by the before and after hooks."""

import pytest

from fhir_server.errors import FhirError
from tests.fhir_client import assert_outcome, create, patient, post


@pytest.fixture
def seen(app):
    calls = []
    pipeline = app.extensions["fhir"].pipeline
    pipeline.before.append(lambda info: calls.append(("before", info.interaction, info.resource_type, info.id)))
    pipeline.after.append(lambda info, status: calls.append(("after", info.interaction, status)))
    return calls


def test_hooks_see_who_what_and_outcome_of_a_read(client, seen):
    reference = create(client, patient())
    seen.clear()
    client.get(f"/fhir/{reference}")
    assert seen == [("before", "read", "Patient", reference.split("/")[1]), ("after", "read", 200)]


def test_hooks_see_each_transaction_entry(client, seen):
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient?identifier=1"}},
        {"request": {"method": "DELETE", "url": "Patient/gone"}},
    ]}
    assert post(client, "", bundle).status_code == 200
    befores = [call[1] for call in seen if call[0] == "before"]
    assert befores == ["transaction", "delete", "create", "search-type"]
    assert seen[-1] == ("after", "transaction", 200)


def test_a_refusing_before_hook_stops_the_request(app, client):
    class Refused(FhirError):
        status, issue_code = 403, "forbidden"

    def refuse(info):
        if info.interaction == "delete":
            raise Refused("Not allowed to delete.")

    app.extensions["fhir"].pipeline.before.append(refuse)
    reference = create(client, patient())
    assert_outcome(client.delete(f"/fhir/{reference}"), 403, "Not allowed")
    assert client.get(f"/fhir/{reference}").status_code == 200
