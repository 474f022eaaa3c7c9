import pytest

from mappers.base import Rejected
from mappers.tabular.reader import SourceError, delimiter_for, read_rows


def _read(path, encoding="utf-8", delimiter=","):
    return list(read_rows(path, path.name, encoding, delimiter))


def _rows(results):
    return [(source.line, row) for source, row in (r for r in results if not isinstance(r, Rejected))]


def test_cp949_files_are_decoded(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes("등록번호,성명\r\n0001,김민준\r\n".encode("cp949"))
    assert _rows(_read(path, "cp949")) == [(2, {"등록번호": "0001", "성명": "김민준"})]


def test_a_line_in_another_encoding_is_rejected_and_the_others_kept(tmp_path):
    path = tmp_path / "patients.csv"
    path.write_bytes("id,name\n1,김민준\n".encode() + "2,이서연\n".encode("cp949") + "3,박도윤\n".encode())
    results = _read(path)
    assert _rows(results) == [(2, {"id": "1", "name": "김민준"}), (4, {"id": "3", "name": "박도윤"})]
    [rejected] = [r for r in results if isinstance(r, Rejected)]
    assert rejected.source.line == 3 and "not valid utf-8" in rejected.reason and "cp949" in rejected.reason


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"\xef\xbb\xbfId,NAME\n1,a\n")
    assert _rows(_read(path)) == [(2, {"Id": "1", "NAME": "a"})]


def test_a_truncated_last_row_is_rejected(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a,b,c\n1,2,3\n4,5")
    results = _read(path)
    assert _rows(results) == [(2, {"a": "1", "b": "2", "c": "3"})]
    assert results[-1].source.line == 3
    assert results[-1].reason == "the row has 2 fields, the header 3 (the file may be truncated)"


def test_quoted_fields_may_hold_newlines_and_rows_are_numbered_by_their_first_line(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,note\n1,"two\nlines"\n2,x\n')
    assert _rows(_read(path)) == [(2, {"a": "1", "note": "two\nlines"}), (4, {"a": "2", "note": "x"})]


def test_a_quote_left_open_is_rejected(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('a,b\n1,"open\n')
    [rejected] = _read(path)
    assert rejected.source.line == 2 and "malformed CSV" in rejected.reason


def test_blank_lines_are_not_records(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a\n1\n\n2\n")
    assert [line for line, _ in _rows(_read(path))] == [2, 4]


def test_tab_separated_files(tmp_path):
    path = tmp_path / "t.tsv"
    path.write_text("a\tb\n1,5\t2\n")
    assert _rows(_read(path, delimiter=delimiter_for(path, None))) == [(2, {"a": "1,5", "b": "2"})]


@pytest.mark.parametrize("content", [b"", None])
def test_an_empty_or_missing_file_cannot_be_read(tmp_path, content):
    path = tmp_path / "t.csv"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match="t.csv"):
        _read(path)
