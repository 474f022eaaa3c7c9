"""The tabular mapper against golden files (source rows -> FHIR JSON, checked by hand against the rows) and
its handling of bad rows: one result per row read, and a reason for every reject."""

import json
from dataclasses import replace
from pathlib import Path

import pytest

from mappers.base import Mapped, Rejected
from mappers.tabular import spec
from mappers.tabular.mapper import TabularMapper

DATA = Path(__file__).parents[2] / "data" / "mappers"
SAMPLES = Path(spec.__file__).parent / "samples"


def _dumped(resources) -> list:
    """Decimals as their exact text, so `7.20` must stay `7.20`."""
    from fhir_server import json_codec  # the server's writer: the bytes the server will store

    return json.loads(json_codec.dump(resources), parse_float=str)


@pytest.mark.parametrize("name", ["korean-hospital", "synthea-csv"])
def test_the_golden_export_maps_to_the_expected_resources(name, normalizer):
    mapper = TabularMapper(spec.load(spec.builtin(name)), normalizer)
    results = list(mapper.map_folder(DATA / name))
    assert [r for r in results if isinstance(r, Rejected)] == []
    expected = json.loads((DATA / name / "expected.json").read_text(encoding="utf-8"), parse_float=str)
    assert _dumped([resource for result in results for resource in result.resources]) == expected


@pytest.mark.parametrize("name", ["korean-hospital", "synthea-csv"])
def test_every_row_of_the_shipped_samples_maps(name, normalizer):
    mapper = TabularMapper(spec.load(spec.builtin(name)), normalizer)
    results = list(mapper.map_folder(SAMPLES / name))
    rows = sum(len(path.read_bytes().splitlines()) - 1 for path in (SAMPLES / name).glob("*.csv"))
    assert len(results) == rows
    assert all(isinstance(result, Mapped) for result in results)


def _korean(tmp_path, normalizer, **changes):
    """The golden Korean export with some files' text replaced, mapped; results by file."""
    folder = tmp_path / "export"
    folder.mkdir()
    for path in (DATA / "korean-hospital").glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    for name, text in changes.items():
        (folder / f"{name}.csv").write_bytes(text.encode("cp949"))
    results = list(TabularMapper(spec.load(spec.builtin("korean-hospital")), normalizer).map_folder(folder))
    return results


def _rejects(results):
    return [(r.source.file, r.source.line, r.field, r.reason) for r in results if isinstance(r, Rejected)]


def test_bad_cells_are_rejected_with_file_line_column_and_reason(tmp_path, normalizer):
    results = _korean(tmp_path, normalizer, patients=(
        "등록번호,성명,성별,생년월일,사망일자,주소,우편번호,전화번호\r\n"
        "00000001,김서연,여,19680412,,서울,03080,010\r\n"
        "00000002,이도윤,남,19680230,,서울,03080,010\r\n"
        "00000003,박하준,X,19700101,,서울,03080,010\r\n"
        ",무명,남,19700101,,서울,03080,010\r\n"
        "00000001,김서연,여,19680412,,서울,03080,010\r\n"))
    assert _rejects(results) == [
        ("patients.csv", 3, "생년월일", "`19680230` is not a date in the format `%Y%m%d`"),
        ("patients.csv", 4, "성별", "`X` is not in the spec's map for `gender` (line 18): add it, or correct the cell"),
        ("patients.csv", 5, "등록번호", "the key is empty"),
        ("patients.csv", 6, "등록번호", "the key 00000001 was already read at line 2"),
    ]
    assert len(results) == 5 + 1 + 2 + 3 + 1 + 1 + 1  # every row of every file, once


def test_rows_of_a_rejected_or_absent_patient_are_rejected(tmp_path, normalizer):
    results = _korean(tmp_path, normalizer, diagnoses=(
        "등록번호,내원번호,진단코드,진단명,주부구분,진단일자\r\n"
        "00000009,00000001-001,C50.9,유방암,주,20240305\r\n"
        "00000001,00000001-009,C50.9,유방암,주,20240305\r\n"))
    assert _rejects(results) == [
        ("diagnoses.csv", 2, "등록번호", "patient `00000009` is not in the export's patients table, or was rejected"),
        ("diagnoses.csv", 3, "내원번호", "visit `00000001-009` is not in the export's visits table, or was rejected"),
    ]


def test_unknown_diagnosis_codes_are_rejected_with_the_normalizer_reason(tmp_path, normalizer):
    results = _korean(tmp_path, normalizer, diagnoses=(
        "등록번호,내원번호,진단코드,진단명,주부구분,진단일자\r\n"
        "00000001,00000001-001,U99.9,모름,주,20240305\r\n"
        "00000001,00000001-001,,빈칸,부,20240305\r\n"))
    [(_, line, field, reason), (_, empty_line, empty_field, empty_reason)] = _rejects(results)
    assert (line, field) == (2, "진단코드") and reason.startswith("diagnosis code `U99.9` is not recognized")
    assert (empty_line, empty_field, empty_reason) == (3, "진단코드", "`code` is required but the cell is empty")


def test_unknown_diagnosis_codes_load_as_written_when_the_spec_says_keep(tmp_path, normalizer):
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "diagnoses.csv").write_bytes("등록번호,내원번호,진단코드,진단명,주부구분,진단일자\r\n"
                                           "1,2,U99.9,모름,주,20240305\r\n".encode("cp949"))
    korean = spec.load(spec.builtin("korean-hospital"))
    only_diagnoses = replace(korean, unknown_diagnosis_codes="keep",
                             tables=tuple(t for t in korean.tables if t.kind == "diagnoses"))
    [result] = TabularMapper(only_diagnoses, normalizer).map_folder(folder)
    assert result.resources[0]["code"]["coding"] == [
        {"system": "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8", "code": "U99.9", "display": "모름"}]


def test_a_column_missing_from_the_header_rejects_each_row_of_that_file_only(tmp_path, normalizer):
    results = _korean(tmp_path, normalizer, procedures="등록번호,내원번호,처치명,시행일시\r\n1,2,x,2024-03-06 14:00\r\n")
    assert _rejects(results) == [("procedures.csv", 2, "수가코드", "column `수가코드` named by the spec (table at "
                                                                 "line 81) is not in the header of procedures.csv")]
    assert sum(isinstance(r, Mapped) for r in results) == 9  # the golden export has 10 rows


def test_a_file_in_another_encoding_has_each_row_rejected_and_the_other_files_load(tmp_path, normalizer):
    folder = tmp_path / "export"
    folder.mkdir()
    for path in (DATA / "korean-hospital").glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    (folder / "allergies.csv").write_bytes(
        (DATA / "korean-hospital" / "allergies.csv").read_bytes().decode("cp949").encode("utf-8"))
    results = list(TabularMapper(spec.load(spec.builtin("korean-hospital")), normalizer).map_folder(folder))
    [(file, line, _, reason)] = _rejects(results)
    assert (file, line) == ("allergies.csv", 2)
    assert reason.startswith("the header line of allergies.csv is not valid cp949, so no row can be read")
    assert len(results) == 10
