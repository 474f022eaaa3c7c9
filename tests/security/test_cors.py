"""CORS: off unless origins are configured; then preflights are answered and responses are readable
(https://fetch.spec.whatwg.org/#http-cors-protocol)."""

import pytest

from tests.fhir_client import assert_outcome, patient

APP = "https://app.example.kr"
PREFLIGHT = {"Origin": APP, "Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization, content-type"}


def test_without_configured_origins_no_response_allows_another_origin(make_client):
    client = make_client()
    response = client.get("/fhir/metadata", headers={"Origin": APP})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    assert_outcome(client.options("/fhir/Patient", headers=PREFLIGHT), 405)


def test_a_preflight_from_an_allowed_origin_is_answered(make_client):
    response = make_client(cors_origins=f"https://other.example.kr {APP}").options("/fhir/Patient", headers=PREFLIGHT)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == APP
    assert {"POST", "PUT", "DELETE"} <= {method.strip() for method in
                                         response.headers["Access-Control-Allow-Methods"].split(",")}
    allowed_headers = {name.strip().lower() for name in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "content-type", "if-match", "prefer"} <= allowed_headers
    assert "Origin" in response.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_response_to_an_allowed_origin_is_readable_with_its_location(make_client):
    response = make_client(cors_origins=APP).post("/fhir/Patient", json=patient(),
                                                  headers={"Origin": APP, "Content-Type": "application/fhir+json"})
    assert response.status_code == 201
    assert response.headers["Access-Control-Allow-Origin"] == APP
    exposed = {name.strip() for name in response.headers["Access-Control-Expose-Headers"].split(",")}
    assert {"Location", "ETag", "Last-Modified", "Content-Location", "X-Progress"} <= exposed


def test_an_error_to_an_allowed_origin_is_readable_too(make_client):
    response = make_client(cors_origins=APP).get("/fhir/Patient/missing", headers={"Origin": APP})
    assert_outcome(response, 404)
    assert response.headers["Access-Control-Allow-Origin"] == APP


@pytest.mark.parametrize("origin", ["https://evil.example.com", "https://app.example.kr.evil.com", "null"])
def test_other_origins_get_no_cors_headers(make_client, origin):
    client = make_client(cors_origins=APP)
    response = client.get("/fhir/metadata", headers={"Origin": origin})
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers["Vary"]
    assert_outcome(client.options("/fhir/Patient", headers={**PREFLIGHT, "Origin": origin}), 405)


def test_the_capability_statement_says_whether_cors_is_on(make_client):
    for origins, expected in (("", False), (APP, True)):
        statement = make_client(cors_origins=origins).get("/fhir/metadata").get_json(force=True)
        assert statement["rest"][0]["security"]["cors"] is expected


def test_a_wildcard_allows_any_origin(make_client):
    response = make_client(cors_origins="*").get("/fhir/metadata", headers={"Origin": "https://anywhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
