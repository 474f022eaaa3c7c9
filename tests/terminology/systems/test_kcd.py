"""KCD from the files a deployer supplies: CSV in UTF-8 or CP949, or Excel, with or without a header."""

import csv
import io

import pytest

from terminology import tables
from terminology.systems import kcd

ROWS = [("C50.9", "상세불명의 유방의 악성 신생물", "Malignant neoplasm of breast, unspecified"),
        ("C5091", "상세불명 유방의 악성 신생물, 우측", "Malignant neoplasm of breast, unspecified, right"),
        ("K35", "급성 충수염", "Acute appendicitis")]


def _csv(path, encoding, header=True):
    text = io.StringIO()
    csv.writer(text).writerows(([("질병분류코드", "한글명", "영문명")] if header else []) + ROWS)
    path.write_bytes(text.getvalue().encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "cp949"])
def test_csv_in_either_korean_encoding_gives_codes_names_and_hierarchy(tmp_path, terminology, encoding):
    system, rejected = kcd.parse(tables.read_supplied(_csv(tmp_path / "kcd.csv", encoding)), terminology.icd10)
    assert rejected == []
    concept = system.get("C50.91")
    assert dict(concept.designations) == {"ko": "상세불명 유방의 악성 신생물, 우측",
                                          "en": "Malignant neoplasm of breast, unspecified, right"}
    # the five-character code specializes its ICD-10 parent; the category sits in ICD-10's block
    assert system.parents["C50.91"] == ("C50.9",)
    assert system.parents["K35"] == ("K35-K38",)
    assert "C00-C97" in system.ancestors("C50.91")


def test_headerless_files_take_code_korean_english_in_order(tmp_path, terminology):
    system, _ = kcd.parse(tables.read_supplied(_csv(tmp_path / "kcd.csv", "utf-8", header=False)), terminology.icd10)
    assert system.get("K35").display == "Acute appendicitis"


def test_excel_files_are_read_like_csv(tmp_path, terminology):
    openpyxl = pytest.importorskip("openpyxl")
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["코드", "한글명", "영문명"])
    for row in ROWS:
        sheet.append(list(row))
    workbook.save(tmp_path / "kcd.xlsx")
    system, rejected = kcd.parse(tables.read_supplied(tmp_path / "kcd.xlsx"), terminology.icd10, edition="9")
    assert rejected == [] and system.version == "9" and "C50.91" in system


def test_rows_that_are_not_codes_are_rejected_with_their_line(tmp_path, terminology):
    path = tmp_path / "kcd.csv"
    path.write_text("코드,한글명,영문명\nC50.9,유방,Breast\n12345,잘못,Wrong\n", encoding="utf-8")
    system, rejected = kcd.parse(tables.read_supplied(path), terminology.icd10)
    assert rejected == ["line 3: `12345` is not a KCD code"] and "C50.9" in system


def test_an_unknown_edition_is_refused(terminology):
    with pytest.raises(ValueError, match="edition `6`"):
        kcd.parse([["C50.9", "유방", "Breast"]], terminology.icd10, edition="6")
