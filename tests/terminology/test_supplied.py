"""Files a deployer supplies are converted once into a terminology folder that registry.load reads."""

from pathlib import Path

import pytest

from terminology import registry, supplied
from terminology.normalize import Normalizer
from terminology.systems import kcd
from terminology.valuesets import BASE, COHORT_VALUE_SETS

ORPHADATA = Path(__file__).parents[1] / "data" / "orphadata"


def test_a_newer_orphadata_release_replaces_the_shipped_tables(tmp_path, terminology):
    assert supplied.store(tmp_path, "orphadata", [ORPHADATA], terminology.icd10) == []
    loaded = registry.load(tmp_path).orphanet
    assert set(loaded.classifications) == {"212"}
    assert loaded.code_system.get("558").display == "Marfan syndrome"  # named by the SSSOM file only
    assert {(a.orphacode, a.relation) for a in loaded.alignments} == {("100", "NTBT"), ("145", "BTNT"),
                                                                      ("519", "E"), ("558", "E")}


def test_the_korean_rare_disease_list_joins_the_rare_disease_cohort(tmp_path, terminology):
    source = tmp_path / "rare.csv"
    source.write_text("특정기호,상병코드,질환명\nV123,E75.2,파브리병\n", encoding="utf-8")
    folder = tmp_path / "terminology"
    assert supplied.store(folder, "copayment-rare", [source], terminology.icd10) == []
    loaded = registry.load(folder)
    assert loaded.copayment.codes_for("E75.2") == {"V123"}
    rare_diseases = next(value_set for value_set in COHORT_VALUE_SETS if value_set.id == "rare-diseases")
    assert (kcd.URL, "E75.2") in rare_diseases.members(loaded)
    assert BASE + "rare-diseases" in Normalizer(loaded).normalize("E75.2").cohorts


def test_an_unknown_kind_or_incomplete_orphadata_is_refused(tmp_path, terminology):
    with pytest.raises(ValueError, match="Unknown terminology kind `mesh`"):
        supplied.store(tmp_path, "mesh", [], terminology.icd10)
    with pytest.raises(ValueError, match="alignments file"):
        supplied.store(tmp_path, "orphadata", [ORPHADATA / "en_product3_212.xml"], terminology.icd10)


def test_a_kcd_row_without_names_is_kept_under_its_code(tmp_path, terminology):
    source = tmp_path / "kcd.csv"
    source.write_text("코드,한글명,영문명\nK35.80,,\n", encoding="utf-8")
    folder = tmp_path / "terminology"
    assert supplied.store(folder, "kcd", [source], terminology.icd10) == []
    system = registry.load(folder).kcd
    assert system.get("K35.80").display == "K35.80" and system.parents["K35.80"] == ("K35.8",)
