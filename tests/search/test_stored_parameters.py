"""SearchParameters stored on the server: they apply to new writes at once, to older data after
$reindex, appear in the CapabilityStatement, and bad ones are refused (searchparameter.html)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_server.app import create_app
from tests.conftest import settings_for_backend
from tests.fhir_client import assert_outcome, create, put

KR_CORE = Path(__file__).parent.parent / "data" / "kr-core"
NICKNAME = {
    "resourceType": "SearchParameter", "id": "patient-nickname", "url": "http://hospital.test/SearchParameter/nickname",
    "name": "nickname", "status": "active", "description": "A patient's nickname", "code": "nickname",
    "base": ["Patient"], "type": "string", "expression": "Patient.name.where(use='nickname').given",
}


@pytest.fixture(params=["sql", "elasticsearch"])
def settings(request, database_url):
    return settings_for_backend(request, database_url)



def _patient(id_: str, nickname: str) -> dict:
    return {"resourceType": "Patient", "id": id_, "name": [{"family": "김", "given": ["민준"]},
                                                          {"use": "nickname", "given": [nickname]}]}


def _ids(client, query: str) -> set[str]:
    response = client.get(f"/fhir/{query}", headers={"Prefer": "handling=strict"})
    assert response.status_code == 200, response.get_data(as_text=True)
    return {entry["resource"]["id"] for entry in response.get_json(force=True).get("entry", [])
            if entry["search"]["mode"] == "match"}


def test_a_stored_parameter_applies_to_new_writes_and_after_reindex_to_old_ones(client):
    put(client, "Patient/before", _patient("before", "Bear"))
    assert client.get("/fhir/Patient?nickname=bea", headers={"Prefer": "handling=strict"}).status_code == 400
    assert put(client, "SearchParameter/patient-nickname", NICKNAME).status_code == 201
    put(client, "Patient/after", _patient("after", "Beatle"))
    assert _ids(client, "Patient?nickname=bea") == {"after"}  # older data waits for a reindex
    reindexed = client.post("/fhir/Patient/$reindex")
    assert reindexed.status_code == 200
    assert reindexed.get_json(force=True)["parameter"][0]["valueInteger"] == 2
    assert _ids(client, "Patient?nickname=bea") == {"before", "after"}
    assert _ids(client, "Patient?nickname=beat") == {"after"}
    assert _ids(client, "Patient?name=민준") == {"before", "after"}  # the R4 parameters still work


def test_the_capability_statement_lists_stored_parameters(client):
    put(client, "SearchParameter/patient-nickname", NICKNAME)
    statement = client.get("/fhir/metadata").get_json(force=True)
    patient = next(entry for entry in statement["rest"][0]["resource"] if entry["type"] == "Patient")
    assert {"name": "nickname", "type": "string", "definition": NICKNAME["url"]} in patient["searchParam"]
    assert {"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything"} \
        in patient["operation"]


def test_retiring_a_parameter_takes_it_out_of_effect(client):
    put(client, "SearchParameter/patient-nickname", NICKNAME)
    put(client, "SearchParameter/patient-nickname", {**NICKNAME, "status": "retired"})
    assert client.get("/fhir/Patient?nickname=x", headers={"Prefer": "handling=strict"}).status_code == 400


def test_a_parameter_another_process_stored_applies_to_this_process_writes(settings, client):
    other = create_app(settings)  # a second worker on the same database
    try:
        put(other.test_client(), "SearchParameter/patient-nickname", NICKNAME)
        put(client, "Patient/p1", _patient("p1", "Tiger"))
        assert _ids(client, "Patient?nickname=tig") == {"p1"}
    finally:
        other.extensions["fhir"].repository.database.dispose()


def test_unusable_parameters_are_422_and_change_nothing(client):
    for broken, message in (({"type": "special"}, "type `special`"), ({"base": ["Spaceship"]}, "`Spaceship`"),
                            ({"expression": "Patient.name.where("}, "fails on `Patient`"),
                            ({"code": "bad code"}, "not a search parameter name"),
                            ({"code": "nick.name"}, "not a search parameter name")):
        response = put(client, "SearchParameter/patient-nickname", {**NICKNAME, **broken})
        assert_outcome(response, 422, message)
    assert client.get("/fhir/SearchParameter/patient-nickname").status_code == 404


def test_kr_core_parameters_load_and_search(client):
    for path in sorted(KR_CORE.glob("SearchParameter-*.json")):
        resource = json.loads(path.read_text())
        response = put(client, f"SearchParameter/{resource['id']}", resource)
        assert response.status_code == 201, (path.name, response.get_data(as_text=True))
    patient = {"resourceType": "Patient", "id": "kr1", "name": [{"text": "홍길동"}]}
    put(client, "Patient/kr1", patient)
    observation = {"resourceType": "Observation", "status": "final", "subject": {"reference": "Patient/kr1"},
                   "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                   "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                                  "valueQuantity": {"value": 142, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]}
    create(client, observation)
    organization = {"resourceType": "Organization", "id": "snuh", "name": "Seoul National University Hospital",
                    "alias": ["서울대병원"]}
    put(client, "Organization/snuh", organization)
    assert _ids(client, "Organization?name=서울대") == {"snuh"}  # KR Core's name also searches alias
    assert _ids(client, "Patient?name=홍길") == {"kr1"}
    # KR Core's composite names a component definition it does not ship, so the R4 one stays in effect.
    assert len(_ids(client, "Observation?component-code-value-quantity=8480-6$gt140")) == 1
    statement = client.get("/fhir/metadata").get_json(force=True)
    organization_entry = next(entry for entry in statement["rest"][0]["resource"] if entry["type"] == "Organization")
    assert any(parameter["definition"].startswith("http://www.hl7korea.or.kr/") and parameter["name"] == "name"
               for parameter in organization_entry["searchParam"])
