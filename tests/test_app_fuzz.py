"""Thousands of malformed and odd requests on the server's own routes: none may get a 500 or crash the app, and
every error is an OperationOutcome (hypothesis generates them; derandomized, so CI runs the same ones)."""

from __future__ import annotations

import json
import shutil
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fhir_server.app import create_app
from fhir_server.settings import Settings
from tests.fhir_client import create, patient

RESOURCE_TYPES = ["Patient", "Observation", "Condition", "Encounter", "Bundle", "Group", "ValueSet", "CodeSystem",
                  "ConceptMap", "SearchParameter", "Binary", "Parameters", "NotAType", "patient"]
SEGMENTS = ["metadata", "_history", "_search", "$export", "$import", "$everything", "$expand", "$lookup",
            "$validate-code", "$translate", "$subsumes", "$reindex", "$nothing", "bulk-status", "1", "p1", "o1",
            "..", "%00", "%2F", "_", "*", "a" * 80, "김", ""]
PARAMETERS = ["_id", "_count", "_sort", "_include", "_revinclude", "_include:iterate", "_has:Observation:subject:code",
              "_has", "subject.name", "subject:Patient.birthdate", "patient._has:Condition:subject:code", "date",
              "birthdate", "value-quantity", "code", "code:in", "code:not", "code:text", "code:below", "name",
              "name:exact", "name:contains", "name:missing", "identifier", "identifier:of-type", "_elements",
              "_summary", "_total", "_format", "_pretty", "_since", "_type", "_typeFilter", "_outputFormat",
              "_lastUpdated", "_text", "_content", "_filter", "_list", "component-code-value-quantity",
              "code-value-concept", "url", "system", "count", "offset", "_cursor", "page", "unknown", ":", ""]
VALUES = ["gt2020", "ge2020-01-01T00:00:00Z", "eq", "ap5|http://unitsofmeasure.org|mg", "5||mg", "|", "||", "$",
          "Patient:subject", "*", "Observation:subject:Patient", "-date", "date,-_id", "true", "count", "0", "-1",
          "1e9", "99999999999999999999", "http://loinc.org|", "|8867-4", "8867-4$gt5", "a,b,,", "2020-13-45",
          "T10:00", "Patient", "Patient,Observation", "Patient?name=x", "application/fhir+ndjson", "json", "xml",
          "null", "김", "%", "\\", "'", "\"", ";DROP TABLE resources", "\x00", "ne2020", "sa", "eb1", "le-5"]
CONTENT_TYPES = ["application/fhir+json", "application/json", "application/json-patch+json",
                 "application/x-www-form-urlencoded", "application/fhir+xml", "text/plain", "application/zip",
                 "multipart/form-data; boundary=x", "application/fhir+json; charset=latin1", ""]
HEADERS = ["If-Match", "If-None-Match", "If-None-Exist", "If-Modified-Since", "Prefer", "Accept", "Range",
           "Authorization", "Origin", "Access-Control-Request-Method", "X-Request-Id"]
HEADER_VALUES = ["W/\"1\"", "\"1\"", "W/\"x\"", "*", "name=x", "_id=p1", "identifier=|", "respond-async",
                 "return=minimal", "return=OperationOutcome", "handling=strict", "application/fhir+xml",
                 "text/html", "*/*", "Sat, 01 Jan 2000 00:00:00 GMT", "yesterday", "bytes=0-1", "Bearer x", "null"]

# A JSON value of any shape, small enough to keep each example quick.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20)
# Resource-like objects: a known type with fields drawn from real element names and any values.
ELEMENTS = ["id", "meta", "text", "name", "status", "code", "subject", "valueQuantity", "effectiveDateTime",
            "identifier", "gender", "birthDate", "extension", "contained", "entry", "type", "request", "resource",
            "parameter", "url", "method", "component", "valueCodeableConcept", "reference", "versionId"]
resources = st.builds(lambda resource_type, fields: {"resourceType": resource_type, **fields},
                      st.sampled_from(RESOURCE_TYPES), st.dictionaries(st.sampled_from(ELEMENTS), json_values,
                                                                       max_size=5))
bundles = st.builds(lambda bundle_type, entries: {"resourceType": "Bundle", "type": bundle_type, "entry": entries},
                    st.sampled_from(["batch", "transaction", "searchset", "x"]),
                    st.lists(st.fixed_dictionaries({}, optional={
                        "resource": resources, "fullUrl": st.sampled_from(["urn:uuid:1", "Patient/p1", "x", "urn:uuid:"]),
                        "request": st.fixed_dictionaries({}, optional={
                            "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "x"]),
                            "url": st.sampled_from(["Patient", "Patient/p1", "Patient?name=x", "Observation/o1",
                                                    "Patient/$everything", "metadata", "", "?", "Nope/1"]),
                            "ifMatch": st.sampled_from(["W/\"1\"", "x"]), "ifNoneExist": st.sampled_from(["_id=p1", "x=|"])}),
                    }), max_size=4))
json_patches = st.lists(st.fixed_dictionaries({"op": st.sampled_from(["add", "remove", "replace", "move", "copy", "test", "x"]),
                                               "path": st.sampled_from(["/name", "/id", "/resourceType", "/name/0", "/-", "", "/meta/versionId"])},
                                              optional={"value": json_values, "from": st.sampled_from(["/name", "/x"])}),
                        max_size=3)
bodies = st.one_of(
    st.binary(max_size=60),
    st.builds(lambda value: json.dumps(value).encode(), json_values),
    st.builds(lambda value: json.dumps(value).encode(), resources),
    st.builds(lambda value: json.dumps(value).encode(), bundles),
    st.builds(lambda value: json.dumps(value).encode(), json_patches),
    st.builds(lambda text: text.encode(), st.text(max_size=60)),
)
paths = st.lists(st.sampled_from(RESOURCE_TYPES) | st.sampled_from(SEGMENTS) | st.text(max_size=8).map(quote),
                 max_size=4).map(
    lambda segments: "/fhir/" + "/".join(segments))
other_paths = st.sampled_from(["/", "/import/jobs", "/import/jobs/x", "/import/jobs/x/rejects", "/import/tabular",
                               "/import/omop", "/import/x", "/fhir/bulk-status/x", "/fhir/bulk-files/x/y.ndjson"])
queries = st.lists(st.tuples(st.sampled_from(PARAMETERS) | st.text(max_size=10),
                             st.sampled_from(VALUES) | st.text(max_size=12)), max_size=4)
requests = st.fixed_dictionaries({
    "method": st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]),
    "path": paths | other_paths,
    "query": queries,
    "content_type": st.sampled_from(CONTENT_TYPES),
    "headers": st.dictionaries(st.sampled_from(HEADERS), st.sampled_from(HEADER_VALUES) | st.text(max_size=10),
                               max_size=3),
    "body": bodies,
})

@pytest.fixture(scope="module")
def fuzzed_client(sqlite_template, tmp_path_factory):
    path = tmp_path_factory.mktemp("fuzz") / "fhir.sqlite"
    shutil.copy(sqlite_template, path)
    app = create_app(Settings(database_url=f"sqlite:///{path}", base_url="http://fhir.test/fhir",
                              cors_origins="https://app.example.kr", max_bundle_entries=3))
    client = app.test_client()
    client.put("/fhir/Patient/p1", json=patient(id="p1"), headers={"Content-Type": "application/fhir+json"})
    create(client, {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/p1"},
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                    "valueQuantity": {"value": 72, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}})
    yield client
    app.extensions["fhir"].repository.database.dispose()

@settings(max_examples=3000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(request=requests)
def test_no_request_gets_a_500_and_every_error_is_an_outcome(fuzzed_client, request):
    headers = {name: value for name, value in request["headers"].items() if value.isprintable()}
    if request["content_type"]:
        headers["Content-Type"] = request["content_type"]
    response = fuzzed_client.open(request["path"], method=request["method"], query_string=request["query"],
                                  headers=headers, data=request["body"] if request["method"] not in ("GET", "HEAD") else None)
    assert response.status_code < 500, (request, response.get_data(as_text=True))
    if response.status_code >= 400 and request["method"] != "HEAD":
        assert response.content_type.startswith("application/fhir+json"), (request, response.content_type)
        outcome = json.loads(response.get_data())
        assert outcome["resourceType"] == "OperationOutcome", (request, outcome)


SEARCH_PARAMETERS = ["_id", "_lastUpdated", "_tag", "_profile", "_security", "_source", "subject", "patient",
                     "code", "date", "value-quantity", "value-string", "value-concept", "status", "category",
                     "component-code", "combo-code", "code-value-quantity", "encounter", "performer", "identifier",
                     "name", "family", "given", "birthdate", "gender", "address", "telecom", "general-practitioner",
                     "organization", "link", "death-date", "deceased", "phonetic", "active"]
MODIFIERS = ["", ":missing", ":exact", ":contains", ":text", ":not", ":above", ":below", ":in", ":not-in",
             ":of-type", ":identifier", ":Patient", ":Observation", ":iterate", ":type", ":code-text", ":x", ":"]
CHAINS = ["", ".name", ".birthdate", "._id", ".subject", ".organization.name", ":Patient.gender", "."]
PREFIXES = ["", "eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap", "xx"]
search_values = st.one_of(
    st.sampled_from(VALUES),
    st.builds("{}{}".format, st.sampled_from(PREFIXES),
              st.sampled_from(["2020", "2020-01", "2020-01-01", "2020-01-01T10:00:00+09:00", "2020-01-01T10:00",
                               "72", "72.0", "1e2", "-0", "72|http://unitsofmeasure.org|/min", "72||/min", "x"])),
    st.builds("{}|{}".format, st.sampled_from(["", "http://loinc.org", "urn:oid:1.2", "x|y"]),
              st.sampled_from(["", "8867-4", "final", "a,b", "$"])),
    st.builds(",".join, st.lists(st.text(max_size=6), max_size=3)),
)
search_queries = st.lists(st.tuples(
    st.builds("{}{}{}".format, st.sampled_from(SEARCH_PARAMETERS), st.sampled_from(MODIFIERS), st.sampled_from(CHAINS))
    | st.sampled_from(PARAMETERS), search_values), min_size=1, max_size=4)


@settings(max_examples=2000, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(resource_type=st.sampled_from(["Patient", "Observation", "Condition", ""]), query=search_queries,
       method=st.sampled_from(["GET", "POST"]))
def test_no_search_gets_a_500_and_every_refusal_is_an_outcome(fuzzed_client, resource_type, query, method):
    path = f"/fhir/{resource_type}" if method == "GET" else f"/fhir/{resource_type}/_search".replace("//", "/")
    if method == "GET":
        response = fuzzed_client.get(path, query_string=query)
    else:
        response = fuzzed_client.post(path, data=urlencode(query), content_type="application/x-www-form-urlencoded")
    assert response.status_code < 500, (path, query, response.get_data(as_text=True))
    if response.status_code >= 400:
        assert json.loads(response.get_data())["resourceType"] == "OperationOutcome", (path, query)
    else:
        assert json.loads(response.get_data())["resourceType"] == "Bundle", (path, query)


SCOPES = ["patient/*.rs", "patient/*.cruds", "user/*.rs", "user/*.cruds", "system/*.rs", "patient/Observation.rs",
          "user/Patient.read", "user/*.write", "patient/Observation.rs?category=x", "openid", "launch/patient",
          "user/*.*", "x/y.z", "user/Nope.rs", ""]


@pytest.fixture(scope="module")
def authenticated_client(sqlite_template, tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz-auth")
    shutil.copy(sqlite_template, folder / "fhir.sqlite")
    app = create_app(Settings(database_url=f"sqlite:///{folder / 'fhir.sqlite'}", base_url="http://fhir.test/fhir",
                              auth="on", auth_dev_key=str(folder / "dev.pem"), max_bundle_entries=3))
    yield app.test_client(), folder / "dev.pem"
    app.extensions["fhir"].repository.database.dispose()


@settings(max_examples=1500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(request=requests, scopes=st.lists(st.sampled_from(SCOPES), max_size=3),
       patient_id=st.sampled_from([None, "p1", "p2", "김", "a" * 70, "../x"]),
       roles=st.lists(st.sampled_from(["user", "integrator", "researcher", "admin", "x"]), max_size=2),
       broken=st.sampled_from([None, None, None, "truncate", "garbage", "scheme"]))
def test_no_request_with_any_token_gets_a_500(authenticated_client, request, scopes, patient_id, roles, broken):
    from fhir_server.security import dev_key

    client, key = authenticated_client
    token = dev_key.mint(key, audience="http://fhir.test/fhir", scopes=" ".join(scopes), patient=patient_id,
                         roles=tuple(roles))
    authorization = {None: f"Bearer {token}", "truncate": f"Bearer {token[:-5]}", "garbage": "Bearer a.b.c",
                     "scheme": f"Token {token}"}[broken]
    headers = {name: value for name, value in request["headers"].items() if value.isprintable()}
    headers["Authorization"] = authorization
    if request["content_type"]:
        headers["Content-Type"] = request["content_type"]
    response = client.open(request["path"], method=request["method"], query_string=request["query"],
                           headers=headers, data=request["body"] if request["method"] not in ("GET", "HEAD") else None)
    assert response.status_code < 500, (request, scopes, patient_id, roles, response.get_data(as_text=True))
    if response.status_code >= 400 and request["method"] != "HEAD":
        assert json.loads(response.get_data())["resourceType"] == "OperationOutcome", request
