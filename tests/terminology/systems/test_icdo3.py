"""ICD-O-3 from a WHO-style table (ICDO3.2, Level, Term): tests/data/terminology/icd-o-3.csv, written by hand."""

from pathlib import Path

from terminology import tables
from terminology.systems import icdo3

SOURCE = Path(__file__).parents[2] / "data" / "terminology" / "icd-o-3.csv"


def test_preferred_terms_synonyms_and_hierarchy():
    system, rejected = icdo3.parse(tables.read_supplied(SOURCE))
    assert system.get("C50.9").display == "Breast, NOS"
    # the synonym, and the related term written without the dot (C509)
    assert system.get("C50.9").designations == (("en", "Mammary gland"), ("en", "Breast (unspecified)"))
    assert system.parents["C50.9"] == ("C50",) and system.get("C50").display == "BREAST"
    assert system.parents["8500/3"] == ("8500",) and system.subsumes("8500", "8500/2") == "subsumes"
    assert system.get("8140/3").kind == "morphology"
    # read = loaded + rejected: 9 rows, 6 concepts and synonyms kept, 2 rejected with their line
    assert rejected == ["line 9: `9999/9x` is not an ICD-O-3 topography or morphology code", "line 10: `C61.9` has no term"]
