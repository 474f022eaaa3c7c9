"""Every normalization rule, with real ICD-10 and ORPHA codes; nothing is ever invented."""

import pytest

from terminology import registry
from terminology.normalize import Normalizer
from terminology.systems import kcd
from terminology.valuesets import BASE

ICD10 = "http://hl7.org/fhir/sid/icd-10"


@pytest.mark.parametrize("source, code, status", [
    ("C50.9", "C50.9", "exact"),
    ("C509", "C50.9", "reformatted"),
    ("c50.9", "C50.9", "reformatted"),
    (" C50.9 ", "C50.9", "reformatted"),
    ("C 50.9", "C50.9", "reformatted"),
    ("C50.9-", "C50.9", "reformatted"),
    ("C50.-", "C50", "reformatted"),
    ("A17.0†", "A17.0", "reformatted"),
    ("G01*", "G01", "reformatted"),
    ("Ｃ５０．９", "C50.9", "reformatted"),
    ("c50.90 ", "C50.9", "truncated"),
    ("C50.999", "C50.9", "truncated"),
    ("G01.0", "G01", "truncated"),  # G01 has no subcategories
])
def test_icd10_spellings_normalize_to_the_who_code(normalizer, source, code, status):
    result = normalizer.normalize(source)
    assert (result.status, result.codings[0].system, result.codings[0].code) == (status, ICD10, code)
    assert result.codings[0].display == normalizer.terminology.icd10.get(code).display


def test_truncation_and_marks_are_reported(normalizer):
    assert "`C50.90` is not a code; truncated to its parent `C50.9`" in normalizer.normalize("c50.90 ").notes
    assert "dagger/asterisk mark removed" in normalizer.normalize("A17.0†").notes


@pytest.mark.parametrize("source, reason", [
    ("", "empty code"),
    ("hello", "not shaped like an ICD-10 or KCD code"),
    ("C5", "not shaped like"),
    ("Q99.9.9.9.9", "not shaped like"),
    ("U99.9", "is not a code of"),  # shaped right, but neither U99 nor U99.9 exists
    ("ORPHA:99999999", "is not an ORPHAcode"),
])
def test_what_does_not_exist_is_unrecognized_with_the_reason(normalizer, source, reason):
    result = normalizer.normalize(source)
    assert result.status == "unrecognized" and result.codings == () and reason in " ".join(result.notes)


def test_an_unknown_system_is_unrecognized(normalizer):
    result = normalizer.normalize("C50.9", "http://example.org/local")
    assert not result.recognized and "not one normalize knows" in result.notes[0]


@pytest.mark.parametrize("source", ["ORPHA:558", "orpha 558", "Orphanet_558", "ORPHA558"])
def test_orphacodes_in_their_usual_spellings(normalizer, source):
    result = normalizer.normalize(source)
    assert result.codings[0].code == "558" and result.codings[0].display == "Marfan syndrome"
    assert BASE + "rare-diseases" in result.cohorts


def test_cohort_memberships_come_with_the_coding(normalizer):
    assert normalizer.normalize("C50.9").cohorts == (BASE + "all-cancers",)
    assert normalizer.normalize("D05.1").cohorts == (BASE + "in-situ-neoplasms",)
    assert set(normalizer.normalize("C92.0").cohorts) == {BASE + "all-cancers", BASE + "rare-cancers",
                                                          BASE + "rare-diseases"}
    assert normalizer.normalize("J45.9").cohorts == ()


def test_kcd_only_codes_carry_their_icd10_parent(tmp_path):
    from terminology import supplied

    source = tmp_path / "kcd.csv"
    source.write_text("코드,한글명,영문명\nC50.9,유방,Breast\nC50.91,유방 우측,Breast right\n", encoding="utf-8")
    folder = tmp_path / "terminology"
    base = registry.load()
    assert supplied.store(folder, "kcd", [source], base.icd10) == []
    normalizer = Normalizer(registry.load(folder))
    result = normalizer.normalize("C5091")
    assert [(coding.system, coding.code) for coding in result.codings] == [(kcd.URL, "C50.91"), (ICD10, "C50.9")]
    assert "ICD-10 parent `C50.9`" in result.notes[-1]
    assert BASE + "all-cancers" in result.cohorts
    # without KCD the same string is an over-long ICD-10 code
    assert Normalizer(base).normalize("C5091").status == "truncated"


def test_kcd_codes_are_checked_against_icd10_while_kcd_is_not_loaded(normalizer):
    result = normalizer.normalize("C509", kcd.URL)
    assert result.recognized
    assert [(coding.system, coding.code) for coding in result.codings] == [(ICD10, "C50.9")]
    assert "KCD is not loaded: checked against ICD-10" in result.notes
