"""SNOMED CT from RF2 Snapshot files (tests/data/terminology/snomed: a hand-written excerpt in the RF2 layout,
with the Korean extension's description and language reference set in snomed-kr)."""

from pathlib import Path

import pytest

from terminology.systems import snomed

DATA = Path(__file__).parents[2] / "data" / "terminology"


@pytest.fixture(scope="module")
def system():
    return snomed.load([DATA / "snomed", DATA / "snomed-kr"])


def test_the_preferred_synonym_is_the_display_with_korean_from_the_extension(system):
    concept = system.get("254837009")
    assert concept.display == "Breast cancer"  # preferred in the US English refset; the FSN is only acceptable
    assert dict(concept.designations) == {"en": "Breast cancer", "ko": "유방암"}
    assert system.get("363346000").display == "Malignant neoplastic disease (disorder)"  # no preferred synonym


def test_active_is_a_relationships_make_the_hierarchy(system):
    assert system.parents["254837009"] == ("363346000",)  # the inactive is-a and the finding-site link are not
    assert system.ancestors("254837009") == {"363346000", "64572001", "404684003", "138875005"}


def test_retired_concepts_are_kept_inactive_and_the_version_is_the_release_date(system):
    assert system.get("190268003").active is False
    assert system.version == "20250101"


def test_a_folder_without_concepts_is_refused(tmp_path):
    with pytest.raises(ValueError, match="sct2_Concept_Snapshot"):
        snomed.load([tmp_path])
