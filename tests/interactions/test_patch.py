"""patch with JSON Patch: https://hl7.org/fhir/R4/http.html#patch"""

import json

from tests.fhir_client import assert_outcome, create, patient

JSON_PATCH = {"Content-Type": "application/json-patch+json"}


def _patch(client, path, operations, headers=None):
    return client.patch(f"/fhir/{path}", data=json.dumps(operations), headers={**JSON_PATCH, **(headers or {})})


def test_patch_applies_operations_and_makes_a_version(client):
    reference = create(client, patient(gender="male"))
    response = _patch(client, reference, [{"op": "replace", "path": "/gender", "value": "female"},
                                          {"op": "add", "path": "/birthDate", "value": "1990-02-03"}])
    assert response.status_code == 200
    assert response.headers["ETag"] == 'W/"2"'
    body = client.get(f"/fhir/{reference}").get_json(force=True)
    assert body["gender"] == "female" and body["birthDate"] == "1990-02-03"


def test_patch_with_failing_test_operation_is_422(client):
    reference = create(client, patient(gender="male"))
    assert_outcome(_patch(client, reference, [{"op": "test", "path": "/gender", "value": "female"}]), 422)


def test_patch_producing_invalid_resource_is_422(client):
    reference = create(client, patient())
    assert_outcome(_patch(client, reference, [{"op": "add", "path": "/gender", "value": 12}]), 422, "gender")


def test_patch_changing_id_is_422(client):
    reference = create(client, patient())
    assert_outcome(_patch(client, reference, [{"op": "replace", "path": "/id", "value": "other"}]), 422)


def test_patch_with_wrong_content_type_is_415(client):
    reference = create(client, patient())
    response = client.patch(f"/fhir/{reference}", data="[]", headers={"Content-Type": "application/fhir+json"})
    assert_outcome(response, 415, "json-patch")


def test_patch_that_is_not_an_array_is_400(client):
    reference = create(client, patient())
    assert_outcome(_patch(client, reference, {"op": "remove"}), 400)


def test_patch_with_stale_if_match_is_412(client):
    reference = create(client, patient())
    operations = [{"op": "add", "path": "/active", "value": True}]
    assert_outcome(_patch(client, reference, operations, {"If-Match": 'W/"9"'}), 412)


def test_patch_of_missing_resource_is_404(client):
    assert_outcome(_patch(client, "Patient/nope", [{"op": "add", "path": "/active", "value": True}]), 404)


def test_conditional_patch_patches_the_single_match(client):
    reference = create(client, patient("p1"))
    response = _patch(client, "Patient?identifier=p1", [{"op": "add", "path": "/active", "value": True}])
    assert response.status_code == 200
    assert client.get(f"/fhir/{reference}").get_json(force=True)["active"] is True
