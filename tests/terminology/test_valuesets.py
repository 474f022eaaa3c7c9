"""Cohort value sets, checked against ICD-10's chapter structure and Orphanet's own data."""

from terminology.systems import icd10, orphanet
from terminology.valuesets import COHORT_VALUE_SETS, by_url


def _members(terminology, name):
    return next(value_set for value_set in COHORT_VALUE_SETS if value_set.id == name).members(terminology)


def test_all_cancers_is_every_c00_to_c97_category_and_subcategory(terminology):
    expected = {(icd10.URL, code) for code, concept in terminology.icd10.concepts.items()
                if concept.kind in ("category", "subcategory") and "C00" <= code[:3] <= "C97"}
    assert _members(terminology, "all-cancers") == expected


def test_in_situ_is_d00_to_d09(terminology):
    codes = {code for _, code in _members(terminology, "in-situ-neoplasms")}
    assert "D05.1" in codes and all("D00" <= code[:3] <= "D09" for code in codes)


def test_rare_diseases_take_exact_and_orphanet_filed_codes_but_not_common_cancers(terminology):
    codes = {code for system, code in _members(terminology, "rare-diseases") if system == icd10.URL}
    assert {"Q87.4", "G71.0", "C92.0"} <= codes  # Marfan (E), muscular dystrophy (NTBT), AML (E)
    assert not {"C50.9", "C16.9", "C34.9", "I10", "E10"} & codes  # BTNT, neoplasm NTBT, NON RARE IN EUROPE


def test_rare_cancers_are_the_orphanet_neoplasm_branch(terminology):
    members = _members(terminology, "rare-cancers")
    orpha = {code for system, code in members if system == orphanet.URL}
    assert len(orpha) == 1095 and "250908" in orpha
    assert (icd10.URL, "C92.0") in members and (icd10.URL, "C50.9") not in members


def test_value_sets_are_found_by_url_with_or_without_version():
    value_set = COHORT_VALUE_SETS[0]
    assert by_url(value_set.url) is value_set and by_url(value_set.url + "|1.0.0") is value_set
    assert by_url("http://example.org/ValueSet/x") is None
