import re

from mappers.ids import resource_id

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")  # https://hl7.org/fhir/R4/datatypes.html#id


def test_the_same_record_always_gets_the_same_id():
    assert resource_id("http://h.kr", "Patient", "0001") == resource_id("http://h.kr", "Patient", "0001")


def test_ids_differ_by_source_system_type_and_key():
    ids = {resource_id("http://a.kr", "Patient", "1"), resource_id("http://b.kr", "Patient", "1"),
           resource_id("http://a.kr", "Encounter", "1"), resource_id("http://a.kr", "Patient", "2"),
           resource_id("http://a.kr", "Patient", "1", ""), resource_id("http://a.kr", "Patient", "", "1")}
    assert len(ids) == 6


def test_ids_are_valid_fhir_ids():
    assert FHIR_ID.match(resource_id("http://h.kr", "Condition", "환자 1", "C50.9", "2024-01-01"))
