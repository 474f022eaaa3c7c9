"""Protective headers on every response, successes and errors alike."""

import pytest

from tests.fhir_client import patient

EXPECTED = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@pytest.mark.parametrize("method, path", [("get", "/fhir/metadata"), ("get", "/fhir/Patient/missing"),
                                          ("get", "/nothing-here"), ("post", "/fhir/Patient"),
                                          ("delete", "/fhir/metadata")])
def test_every_response_carries_the_protective_headers(make_client, method, path):
    client = make_client()
    response = getattr(client, method)(path, json=patient() if method == "post" else None,
                                       headers={"Content-Type": "application/fhir+json"})
    for name, value in EXPECTED.items():
        assert response.headers[name] == value
    policy = {directive.strip() for directive in response.headers["Content-Security-Policy"].split(";")}
    assert {"default-src 'none'", "frame-ancestors 'none'"} <= policy
