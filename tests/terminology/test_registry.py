"""Code systems by canonical URL, and a clear answer for one that is not here."""

import pytest

from terminology.registry import UnknownSystem


def test_systems_are_found_by_canonical_url(terminology):
    assert terminology.system("http://hl7.org/fhir/sid/icd-10") is terminology.icd10
    assert terminology.system("http://www.orpha.net") is terminology.orphanet.code_system


def test_an_unknown_or_unloaded_system_names_what_is_known(terminology):
    with pytest.raises(UnknownSystem, match="`http://snomed.info/sct` is not known here; known: .*icd-10"):
        terminology.system("http://snomed.info/sct")
    with pytest.raises(UnknownSystem):  # KCD is there only when a deployer loaded it
        terminology.system("http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8")
