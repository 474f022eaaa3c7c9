"""LOINC from Loinc.csv, the component hierarchy and the Korean linguistic variant (tests/data/terminology/loinc:
rows in the layout of the LOINC 2.7x download, written by hand)."""

from pathlib import Path

import pytest

from terminology.systems import loinc

DATA = Path(__file__).parents[2] / "data" / "terminology" / "loinc"


@pytest.fixture(scope="module")
def system():
    return loinc.load([DATA])


def test_terms_have_long_common_names_and_korean_variants(system):
    concept = system.get("2345-7")
    assert concept.display == "Glucose [Mass/volume] in Serum or Plasma"
    assert dict(concept.designations)["ko"] == "포도당 [질량/부피] 혈청 또는 혈장"
    assert system.version == "2.77"  # the newest VersionLastChanged


def test_the_component_hierarchy_groups_terms_under_parts(system):
    assert system.ancestors("2345-7") == {"LP14635-4", "LP29693-6", "LP432695-7"}
    assert system.get("LP14635-4").kind == "part"


def test_deprecated_terms_are_inactive(system):
    assert system.get("1-8").active is False and system.get("718-7").active is True


def test_a_folder_without_the_table_is_refused(tmp_path):
    with pytest.raises(ValueError, match="Loinc.csv"):
        loinc.load([tmp_path])
