"""Group $cohort-count and $cohort-save over HTTP on the hospital population: the answer is the protected
version of the brute-force counts (tests/cohorts/oracle.py), and bad definitions get OperationOutcomes
naming the criterion."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest

from fhir_server.app import create_app
from fhir_server.cohorts.parameters import from_parameters
from fhir_server.security import dev_key

E11 = {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}
K = 10


def _ask(client, definition, *breakdowns, url="/fhir/Group/$cohort-count", age_at="2025-03-01", headers=None):
    parameter = [{"name": "breakdown", "valueCode": name} for name in breakdowns]
    if definition is not None:
        parameter.insert(0, {"name": "definition", "valueString": json.dumps(definition)})
    if age_at:
        parameter.append({"name": "ageAt", "valueString": age_at})
    return client.post(url, json={"resourceType": "Parameters", "parameter": parameter}, headers=headers or {})


@pytest.fixture
def quiet_client(hospital_settings):
    """Noise of scale 1e-9 (it rounds to nothing), so released counts can be compared with exact ones."""
    app = create_app(dataclasses.replace(hospital_settings, cohort_epsilon=1e9, cohort_budget=1e12))
    yield app.test_client()
    app.extensions["fhir"].repository.database.dispose()


def _check_protection(released: dict, exact: dict, k: int, fixed: tuple = ()):
    """Published cells equal the exact counts; every small cell is hidden; hidden cells come in groups of at
    least two holding nobody or at least k (so the total minus the published cells recovers no small count)."""
    if not fixed:  # categories the data names are pooled into `other` when below k, their names not shown
        named = {label: count for label, count in exact.items() if count >= k}
        pooled = sum(count for label, count in exact.items() if count < k)
        assert set(released) == set(named) | ({"other"} if pooled else set()), (released, exact)
        exact = {**named, **({"other": pooled} if pooled else {})}
    hidden = [label for label, value in released.items() if isinstance(value, str)]
    for label, value in released.items():
        if not isinstance(value, str):
            assert value == exact.get(label, 0) and value >= k, (label, value, exact)
    for label, count in exact.items():
        if count < k:
            assert label not in released or released[label] == f"<{k}", (label, count)
        elif released.get(label) == f"<{k}":
            raise AssertionError(f"{label} holds {count} but is shown as fewer than {k}")
    assert all(value in (f"<{k}", "suppressed") for value in released.values() if isinstance(value, str))
    if hidden:
        together = sum(count for label, count in exact.items() if label not in released or label in hidden)
        assert len(hidden) >= 2 and (together == 0 or together >= k), (released, exact)
    for label in fixed:
        assert label in released


def test_the_answer_is_the_protected_brute_force_count(quiet_client, hospital_oracle):
    definition = {"index": E11, "criteria": {"age": {"min": 40, "at": "index"}}}
    members = hospital_oracle.members(definition)
    response = _ask(quiet_client, definition, "sex", "age-band", "diagnosis", "year", "hospital")
    assert response.status_code == 200, response.get_data(as_text=True)
    answer = from_parameters(response.get_json())
    assert answer["total"] == len(members) and len(members) >= K
    at = datetime.date(2025, 3, 1)
    _check_protection(answer["breakdowns"]["sex"], hospital_oracle.by_sex(members), K,
                      fixed=("male", "female", "other", "unknown"))
    _check_protection(answer["breakdowns"]["age-band"], hospital_oracle.by_age_band(members, at), K,
                      fixed=("0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+",
                             "unknown"))
    _check_protection(answer["breakdowns"]["year"], hospital_oracle.by_index_year(members, definition), K)
    _check_protection(answer["breakdowns"]["diagnosis"], hospital_oracle.by_diagnosis(members, definition), K)
    assert answer["breakdowns"]["hospital"] == {"this hospital": len(members)}


def test_the_pyramid_hides_no_small_cell_from_its_rows_columns_or_margins(quiet_client, hospital_oracle):
    definition = {"criteria": {"age": {"min": 30, "at": "2025-03-01"}}}
    members = hospital_oracle.members(definition)
    answer = from_parameters(_ask(quiet_client, definition, "age-sex", "sex", "age-band").get_json())
    pyramid, exact = answer["breakdowns"]["age-sex"], hospital_oracle.by_age_band_and_sex(members,
                                                                                          datetime.date(2025, 3, 1))
    exact = {f"{band}|{sex}": count for (band, sex), count in exact.items()}
    published = {label: value for label, value in pyramid.items() if isinstance(value, int)}
    assert published and all(value == exact[label] for label, value in published.items())
    assert any(isinstance(value, str) for value in pyramid.values())
    rows = {label.split("|")[0] for label in pyramid}
    columns = {label.split("|")[1] for label in pyramid}
    lines = [[f"{row}|{column}" for column in columns] for row in rows] + \
            [[f"{row}|{column}" for row in rows] for column in columns]
    for line in lines:  # each line's margin is published too: its hidden cells must not give one small count
        hidden = [label for label in line if label not in published]
        together = sum(exact.get(label, 0) for label in hidden)
        assert not hidden or (len(hidden) >= 2 and (together == 0 or together >= K)), (line, pyramid)


def test_a_cohort_below_k_is_answered_as_fewer_than_k(quiet_client, hospital_oracle):
    definition = {"criteria": {"and": [{"diagnosis": {"system": "icd10", "code": "G71", "below": True}}]}}
    assert 0 < len(hospital_oracle.members(definition)) < K
    answer = from_parameters(_ask(quiet_client, definition, "sex").get_json())
    assert answer["total"] == f"<{K}" and set(answer["breakdowns"]["sex"].values()) == {f"<{K}"}


@pytest.mark.parametrize("definition, where", [
    ({"criteria": {"lab": {"code": "4548-4", "comparator": "~", "value": 7}}}, "criteria.lab.comparator"),
    ({"criteria": {"and": [{"sex": "female"}, {"age": {"min": 200, "at": "2020-01-01"}}]}}, "criteria.and.1.age.min"),
    ({"criteria": {"and": [{"sex": "femme"}]}}, "criteria.and.0.sex"),
    ({"criteria": {"diagnosis": {"system": "icd10", "code": "ZZZ"}}}, "criteria.diagnosis"),
    ({"criteria": {"lab": {"code": "4548-4", "within": {"fromDays": 0, "toDays": 30}}}}, "criteria.lab.within"),
    ({"criteria": {"smoker": True}}, "criteria"),
    ({"criteria": {"age": {"min": 3, "at": "yesterday"}}}, "criteria.age.at"),
    ({"index": {"sex": "male"}, "criteria": {"sex": "male"}}, "index"),
    ({"criteria": {"diagnosis": {"valueSet": "http://example.org/no-such-set"}}}, "code:in"),
])
def test_a_bad_definition_gets_an_outcome_naming_the_criterion(quiet_client, definition, where):
    response = _ask(quiet_client, definition)
    assert response.status_code == 400, response.get_data(as_text=True)
    issue = response.get_json()["issue"][0]
    assert issue["code"] in ("invalid", "not-supported")
    assert any(where in path for path in issue.get("expression", [])) or where in issue["diagnostics"], issue


@pytest.mark.parametrize("parameters, fragment", [
    ([{"name": "definition", "valueString": "{not json"}], "not JSON"),
    ([{"name": "definition", "valueString": "[1]"}], "JSON object"),
    ([], "needs a `definition`"),
    ([{"name": "definition", "valueString": json.dumps({"criteria": {"sex": "male"}})},
      {"name": "breakdown", "valueCode": "blood-type"}], "blood-type"),
    ([{"name": "definition", "valueString": json.dumps({"criteria": {"sex": "male"}})},
      {"name": "breakdown", "valueCode": "year"}], "index"),
    ([{"name": "definition", "valueString": json.dumps({"criteria": {"sex": "male"}})},
      {"name": "ageAt", "valueString": "soon"}], "ageAt"),
    ([{"name": "definition", "valueString": json.dumps({"criteria": {"not": {"not": {"not": {"not": {
        "not": {"sex": "male"}}}}}}})}] , None),
])
def test_bad_parameters_are_400_with_the_reason(quiet_client, parameters, fragment):
    response = quiet_client.post("/fhir/Group/$cohort-count", json={"resourceType": "Parameters",
                                                                     "parameter": parameters})
    if fragment is None:
        assert response.status_code == 200
        return
    assert response.status_code == 400, response.get_data(as_text=True)
    assert fragment in response.get_json()["issue"][0]["diagnostics"]


def test_a_deeply_nested_definition_is_a_400_not_a_crash(quiet_client):
    definition = {"sex": "male"}
    for _ in range(300):
        definition = {"not": definition}
    response = _ask(quiet_client, {"criteria": definition})
    assert response.status_code == 400 and "deep" in response.get_json()["issue"][0]["diagnostics"]


def test_a_saved_cohort_is_counted_again_and_lists_members_only_when_asked(quiet_client, hospital_oracle):
    definition = {"criteria": {"and": [E11, {"sex": "female"}]}}
    saved = quiet_client.post("/fhir/Group/$cohort-save", json={"resourceType": "Parameters", "parameter": [
        {"name": "definition", "valueString": json.dumps(definition)}, {"name": "name", "valueString": "T2DM women"}]})
    assert saved.status_code == 201, saved.get_data(as_text=True)
    group = saved.get_json()
    assert group["actual"] is False and "member" not in group and "quantity" not in group
    counted = _ask(quiet_client, None, "sex", url=f"/fhir/Group/{group['id']}/$cohort-count")
    assert from_parameters(counted.get_json())["total"] == len(hospital_oracle.members(definition))
    returned = {parameter["name"]: parameter.get("valueString") for parameter in counted.get_json()["parameter"]}
    assert json.loads(returned["definition"]) == {"criteria": {"and": [
        {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}, {"sex": "female"}]}}
    assert returned["name"] == "T2DM women"

    listed = quiet_client.post("/fhir/Group/$cohort-save", json={"resourceType": "Parameters", "parameter": [
        {"name": "definition", "valueString": json.dumps(definition)}, {"name": "members", "valueBoolean": True}]})
    assert listed.status_code == 201
    members = {member["entity"]["reference"] for member in listed.get_json()["member"]}
    assert members == {f"Patient/{id_}" for id_ in hospital_oracle.members(definition)}
    again = quiet_client.post(f"/fhir/Group/{listed.get_json()['id']}/$cohort-save")
    assert again.status_code == 200 and again.get_json()["meta"]["versionId"] == "1"  # nothing changed since


def test_the_capability_statement_declares_the_cohort_operations(quiet_client):
    statement = quiet_client.get("/fhir/metadata").get_json()
    group = next(entry for entry in statement["rest"][0]["resource"] if entry["type"] == "Group")
    assert {"cohort-count", "cohort-save"} <= {operation["name"] for operation in group.get("operation", [])}


@pytest.fixture
def secured(hospital_settings, tmp_path):
    key = tmp_path / "dev.pem"
    settings = dataclasses.replace(hospital_settings, auth="on", auth_dev_key=str(key))
    app = create_app(settings)

    def headers(scopes: str, *roles: str) -> dict:
        token = dev_key.mint(key, audience="http://fhir.test/fhir", scopes=scopes, roles=roles, subject=scopes + "".join(roles))
        return {"Authorization": f"Bearer {token}"}

    yield app.test_client(), headers
    app.extensions["fhir"].repository.database.dispose()


def test_researchers_get_counts_but_never_rows_or_members(secured):
    client, headers = secured
    researcher = headers("user/*.rs", "researcher")
    assert _ask(client, {"criteria": E11}, "sex", headers=researcher).status_code == 200
    assert client.get("/fhir/Patient", headers=researcher).status_code == 403
    save = {"resourceType": "Parameters", "parameter": [
        {"name": "definition", "valueString": json.dumps({"criteria": E11})}, {"name": "members", "valueBoolean": True}]}
    assert client.post("/fhir/Group/$cohort-save", json=save, headers=researcher).status_code == 403
    save["parameter"].pop()
    assert client.post("/fhir/Group/$cohort-save", json=save, headers=researcher).status_code == 201
    clinician = headers("user/*.cruds", "user")
    assert client.post("/fhir/Group/$cohort-save", json={**save, "parameter": save["parameter"] + [
        {"name": "members", "valueBoolean": True}]}, headers=clinician).status_code == 201
    integrator = headers("user/*.cruds", "integrator")
    assert _ask(client, {"criteria": E11}, headers=integrator).status_code == 403
