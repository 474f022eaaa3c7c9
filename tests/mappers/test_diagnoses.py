import pytest

from mappers.base import RecordError
from mappers.diagnoses import diagnosis_concept

ICD10 = "http://hl7.org/fhir/sid/icd-10"
KCD = "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8"
SNOMED = "http://snomed.info/sct"
BREAST = "Malignant neoplasm: Breast, unspecified"  # WHO ICD-10 2019's title of C50.9


def test_a_messy_code_keeps_the_source_coding_and_adds_the_canonical_one(normalizer):
    concept = diagnosis_concept(normalizer, " c509 ", KCD, "유방암")
    assert concept == {"coding": [{"system": KCD, "code": "c509", "display": "유방암"},
                                  {"system": ICD10, "version": "2019", "code": "C50.9", "display": BREAST}],
                       "text": "유방암"}


def test_a_canonical_code_is_one_coding_with_the_source_display(normalizer):
    concept = diagnosis_concept(normalizer, "C50.9", ICD10, "유방암")
    assert concept["coding"] == [{"system": ICD10, "code": "C50.9", "display": "유방암", "version": "2019"}]


def test_codes_of_systems_normalize_does_not_know_pass_unchanged(normalizer):
    concept = diagnosis_concept(normalizer, "254837009", SNOMED, "Breast cancer")
    assert concept == {"coding": [{"system": SNOMED, "code": "254837009", "display": "Breast cancer"}],
                       "text": "Breast cancer"}


def test_an_unknown_code_is_rejected_with_the_normalizer_reason(normalizer):
    with pytest.raises(RecordError, match="`U99.9` is not recognized.*not a code of") as raised:
        diagnosis_concept(normalizer, "U99.9", ICD10, field="진단코드")
    assert raised.value.field == "진단코드"


def test_an_unknown_code_is_kept_as_written_when_asked(normalizer):
    assert diagnosis_concept(normalizer, "U99.9", ICD10, keep_unrecognized=True) == {
        "coding": [{"system": ICD10, "code": "U99.9"}]}


def test_an_empty_code_is_rejected(normalizer):
    with pytest.raises(RecordError, match="empty"):
        diagnosis_concept(normalizer, "  ", ICD10)
