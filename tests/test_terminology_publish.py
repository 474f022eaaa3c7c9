"""Publishing puts the terminology's CodeSystem, ValueSet and ConceptMap resources on the server, once."""

from fhir_server.terminology_publish import publish
from tests.fhir_client import assert_outcome


def test_published_resources_are_searchable_and_operations_work_on_them(app, client):
    context = app.extensions["fhir"]
    first = publish(context)
    assert "CodeSystem/icd10 (201)" in first and "ValueSet/rare-diseases (201)" in first
    assert publish(context) == [], "nothing changed, nothing published again"
    bundle = client.get("/fhir/CodeSystem?url=http://hl7.org/fhir/sid/icd-10").get_json(force=True)
    [entry] = bundle["entry"]
    assert entry["resource"]["content"] == "not-present" and entry["resource"]["count"] > 12_000
    lookup = client.get("/fhir/CodeSystem/icd10/$lookup?code=C50.9").get_json(force=True)
    assert {"name": "display", "valueString": "Malignant neoplasm: Breast, unspecified"} in lookup["parameter"]
    expansion = client.get("/fhir/ValueSet/in-situ-neoplasms/$expand").get_json(force=True)["expansion"]
    assert expansion["total"] == len([entry for entry in expansion["contains"]])
    concept_map = client.get("/fhir/ConceptMap/icd-10-to-orpha").get_json(force=True)
    marfan = next(element for element in concept_map["group"][0]["element"] if element["code"] == "Q87.4")
    assert {"code": "558", "display": "Marfan syndrome", "equivalence": "equivalent"} in marfan["target"]
    assert_outcome(client.get("/fhir/CodeSystem/nothing/$lookup?code=C50.9"), 404)
