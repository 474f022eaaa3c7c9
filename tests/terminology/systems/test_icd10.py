"""ICD-10 2019 as WHO publishes it (https://icd.who.int/browse10/2019/en)."""


def test_codes_and_displays_are_who_icd10_2019(terminology):
    icd10 = terminology.icd10
    assert icd10.get("C50.9").display == "Malignant neoplasm: Breast, unspecified"
    assert icd10.get("A17.0").display == "Tuberculous meningitis"
    assert icd10.get("U07.1").display == "COVID-19, virus identified"  # added to the 2019 edition in 2020
    # WHO 2019: 22 chapters, 2,050 three-character categories
    assert sum(concept.kind == "chapter" for concept in icd10.concepts.values()) == 22
    assert sum(concept.kind == "category" for concept in icd10.concepts.values()) == 2050


def test_hierarchy_runs_from_subcategory_through_blocks_to_chapter(terminology):
    icd10 = terminology.icd10
    assert icd10.parents["C50.9"] == ("C50",)
    assert icd10.ancestors("C50.9") == {"C50", "C50-C50", "C00-C75", "C00-C97", "II"}
    assert "C50.9" in icd10.descendants("C00-C97") and "D05.1" not in icd10.descendants("C00-C97")
    assert icd10.children["C50"] == tuple(f"C50.{digit}" for digit in "012345689")


def test_subsumption_answers_each_direction(terminology):
    icd10 = terminology.icd10
    assert icd10.subsumes("C50", "C50.9") == "subsumes"
    assert icd10.subsumes("C50.9", "C50") == "subsumed-by"
    assert icd10.subsumes("C50.9", "C50.9") == "equivalent"
    assert icd10.subsumes("C50.9", "C16.9") == "not-subsumed"


def test_closure_pairs_each_code_with_itself_and_every_ancestor(terminology):
    pairs = set(terminology.icd10.closure())
    assert {("C50.9", "C50.9"), ("C50", "C50.9"), ("II", "C50.9")} <= pairs
    assert ("C50.9", "C50") not in pairs
