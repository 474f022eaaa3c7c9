"""Limits on what one request may ask of the server, each answered with a clear OperationOutcome."""

import json

import pytest

from fhir_server.json_codec import MAX_DEPTH
from tests.fhir_client import assert_outcome, patient

FHIR_JSON = {"Content-Type": "application/fhir+json"}


def _bundle(bundle_type: str, count: int) -> dict:
    return {"resourceType": "Bundle", "type": bundle_type,
            "entry": [{"resource": patient(str(number)), "request": {"method": "POST", "url": "Patient"}}
                      for number in range(count)]}


@pytest.mark.parametrize("bundle_type", ["batch", "transaction"])
def test_a_bundle_over_the_entry_limit_is_413_and_writes_nothing(make_client, bundle_type):
    client = make_client(max_bundle_entries=5)
    assert_outcome(client.post("/fhir", json=_bundle(bundle_type, 6), headers=FHIR_JSON), 413,
                   "FHIR_SERVER_MAX_BUNDLE_ENTRIES")
    assert client.get("/fhir/Patient?_summary=count").get_json(force=True)["total"] == 0
    assert client.post("/fhir", json=_bundle(bundle_type, 5), headers=FHIR_JSON).status_code == 200


def _nested_extension(levels: int) -> dict:
    """A Patient whose extension nests ``levels`` extensions: two JSON levels each (an array and an object)."""
    extension = {"url": "http://hospital.test/x", "valueString": "bottom"}
    for _ in range(levels - 1):
        extension = {"url": "http://hospital.test/x", "extension": [extension]}
    return patient(extension=[extension])


def test_a_resource_nested_within_the_depth_limit_is_stored(make_client):
    levels = (MAX_DEPTH - 1) // 2  # the Patient is one level, each extension two
    response = make_client().post("/fhir/Patient", data=json.dumps(_nested_extension(levels)), headers=FHIR_JSON)
    assert response.status_code == 201, response.get_data(as_text=True)


@pytest.mark.parametrize("levels", [MAX_DEPTH // 2 + 1, 300, 2_000])
def test_a_resource_nested_beyond_the_depth_limit_is_400_that_says_so(make_client, levels):
    body = ('{"resourceType":"Patient","extension":' + '[{"url":"http://x","extension":' * levels + "[]"
            + "}]" * levels + "}")
    assert_outcome(make_client().post("/fhir/Patient", data=body, headers=FHIR_JSON), 400,
                   f"more than {MAX_DEPTH} levels deep")
