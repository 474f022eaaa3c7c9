"""Bulk jobs belong to whoever started them: another client neither polls, downloads nor cancels them."""

import time

import pytest

from fhir_server.security import dev_key
from tests.security.conftest import AUDIENCE


@pytest.fixture
def client(make_client, dev_key_path, tmp_path):
    return make_client(auth="on", auth_dev_key=str(dev_key_path), base_url=AUDIENCE,
                       exports_folder=str(tmp_path / "exports"))


def _as(dev_key_path, subject: str, *roles: str) -> dict:
    token = dev_key.mint(dev_key_path, audience=AUDIENCE, scopes="system/*.rs", subject=subject, roles=roles)
    return {"Authorization": f"Bearer {token}"}


def _finished(client, status_url: str, headers: dict):
    for _ in range(200):
        response = client.get(status_url, headers=headers)
        if response.status_code != 202:
            return response
        time.sleep(0.05)
    raise AssertionError("the export did not finish")


def test_only_the_requester_and_administrators_follow_an_export(client, dev_key_path):
    backend, other, admin = (_as(dev_key_path, "backend-a"), _as(dev_key_path, "backend-b"),
                             _as(dev_key_path, "ops", "admin"))
    writer = {"Authorization": "Bearer " + dev_key.mint(dev_key_path, audience=AUDIENCE, scopes="user/*.cruds",
                                                        roles=("integrator",))}
    assert client.put("/fhir/Patient/p1", json={"resourceType": "Patient", "id": "p1"}, headers=writer).status_code == 201
    kicked = client.get("/fhir/$export?_type=Patient", headers={**backend, "Prefer": "respond-async"})
    assert kicked.status_code == 202
    status_url = kicked.headers["Content-Location"].removeprefix("http://fhir.test")
    manifest = _finished(client, status_url, backend)
    assert manifest.status_code == 200 and manifest.json["requiresAccessToken"] is True
    file_url = manifest.json["output"][0]["url"].removeprefix("http://fhir.test")
    assert client.get(status_url, headers=other).status_code == 404
    assert client.get(file_url, headers=other).status_code == 404
    assert client.delete(status_url, headers=other).status_code == 404
    assert client.get(file_url).status_code == 401
    assert client.get(file_url, headers=backend).status_code == 200
    assert client.get(status_url, headers=admin).status_code == 200
    assert client.delete(status_url, headers=backend).status_code == 202


def test_a_type_filter_cannot_search_through_the_audit_trail(client, dev_key_path):
    backend = _as(dev_key_path, "backend-a")
    refused = client.get("/fhir/$export?_type=Patient&_typeFilter=Patient?_has:AuditEvent:entity:action=R",
                         headers={**backend, "Prefer": "respond-async"})
    assert refused.status_code == 403
    allowed = client.get("/fhir/$export?_type=Patient&_typeFilter=Patient?_has:AuditEvent:entity:action=R",
                         headers={**_as(dev_key_path, "ops", "admin"), "Prefer": "respond-async"})
    assert allowed.status_code == 202
