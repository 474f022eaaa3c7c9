"""ConceptMap $translate. Expected matches are read by hand from the files: mondo-ingest's ORDO SSSOM maps
Orphanet:558 Marfan syndrome skos:exactMatch ICD10:Q87.4, and Orphanet 2464, 284963, 284973, 284979 and 60030
skos:broadMatch ICD10:Q87.4 (the ICD-10 code is broader, so from ICD-10 the ORPHA concept is narrower)."""

from tests.fhir_client import assert_outcome

ICD10 = "http://hl7.org/fhir/sid/icd-10"
ORPHA = "http://www.orpha.net"
KCD = "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8"


def _matches(response) -> set[tuple[str, str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    found = set()
    for parameter in response.get_json(force=True)["parameter"]:
        if parameter["name"] == "match":
            parts = {part["name"]: part for part in parameter["part"]}
            coding = parts["concept"]["valueCoding"]
            found.add((parts["equivalence"]["valueCode"], coding["system"], coding["code"]))
    return found


def test_icd10_to_orpha_with_the_relation_of_each_alignment(client):
    assert _matches(client.get(f"/fhir/ConceptMap/$translate?system={ICD10}&code=Q87.4")) == {
        ("equivalent", ORPHA, "558"), *(("narrower", ORPHA, code) for code in ("2464", "284963", "284973", "284979",
                                                                             "60030"))}


def test_orpha_back_to_icd10_and_the_reverse_of_a_map(client):
    assert _matches(client.get(f"/fhir/ConceptMap/$translate?system={ORPHA}&code=284963")) == {("wider", ICD10, "Q87.4")}
    reverse = client.get(f"/fhir/ConceptMap/$translate?url=http://fhir-server.kr/ConceptMap/icd-10-to-orpha"
                         f"&system={ORPHA}&code=558&reverse=true")
    assert _matches(reverse) == {("equivalent", ICD10, "Q87.4")}


def test_kcd_codes_map_to_themselves_or_their_wider_icd10_parent(kcd_client):
    assert _matches(kcd_client.get(f"/fhir/ConceptMap/$translate?system={KCD}&code=C50.91")) == {
        ("wider", ICD10, "C50.9")}
    assert _matches(kcd_client.get(f"/fhir/ConceptMap/$translate?system={KCD}&code=C50.9")) == {
        ("equivalent", ICD10, "C50.9")}


def test_no_mapping_is_a_false_result_and_unknown_maps_are_404(client):
    response = client.get(f"/fhir/ConceptMap/$translate?system={ICD10}&code=J45.9")
    assert response.get_json(force=True)["parameter"][0] == {"name": "result", "valueBoolean": False}
    assert_outcome(client.get(f"/fhir/ConceptMap/$translate?url=http://example.org/cm&system={ICD10}&code=Q87.4"),
                   404, "not known here")
    assert_outcome(client.get(f"/fhir/ConceptMap/$translate?system={KCD}&code=C50.9"), 404, "kostat")
