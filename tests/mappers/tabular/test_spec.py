from pathlib import Path

import pytest

from mappers.tabular import spec

MINIMAL = """\
name: t
source_system: http://hospital.example.kr
tables:
  - kind: patients
    file: p.csv
    key: ID
    elements:
      gender: {column: SEX, map: {M: male}}
"""


def _errors(text: str) -> list[str]:
    with pytest.raises(spec.SpecError) as raised:
        spec.parse(text, Path("s.yaml"))
    return raised.value.problems


@pytest.mark.parametrize("name", ["synthea-csv", "korean-hospital"])
def test_the_shipped_specs_load(name):
    loaded = spec.load(spec.builtin(name))
    assert loaded.name == name and len(loaded.tables) == 7


def test_defaults_are_utf8_and_seoul_and_a_column_name_is_shorthand():
    loaded = spec.parse(MINIMAL.replace("{column: SEX, map: {M: male}}", "SEX"), Path("s.yaml"))
    [table] = loaded.tables
    assert (table.encoding, table.timezone, table.key) == ("utf-8", "Asia/Seoul", ("ID",))
    assert table.elements["gender"][0].column == "SEX" and table.elements["gender"][0].line == 8


def test_every_scalar_is_text_so_codes_keep_leading_zeros():
    loaded = spec.parse(MINIMAL.replace("{M: male}", "{01: male, no: female}"), Path("s.yaml"))
    assert loaded.tables[0].elements["gender"][0].map == {"01": "male", "no": "female"}


def test_a_json_spec_is_read_too():
    text = ('{"name": "t", "source_system": "urn:hospital:x", "tables": [{"kind": "patients", "file": "p.csv", '
            '"key": ["ID"], "elements": {"birthDate": {"column": "DOB", "format": "%Y%m%d"}}}]}')
    assert spec.parse(text, Path("s.json")).tables[0].elements["birthDate"][0].format == "%Y%m%d"


def test_an_unknown_element_is_named_with_its_line():
    [error] = _errors(MINIMAL + "      favouriteColour: COLOUR\n")
    assert error.startswith("s.yaml line 9: tables[0].elements.favouriteColour: not an element of a `patients` table")


def test_a_map_to_codes_the_element_does_not_take_is_an_error():
    [error] = _errors(MINIMAL.replace("{M: male}", "{M: man}"))
    assert error == ("s.yaml line 8: tables[0].elements.gender: `map` gives man; `gender` takes male, female, "
                     "other, unknown")


def test_a_missing_required_element_is_named():
    [error] = _errors(MINIMAL.replace("kind: patients", "kind: diagnoses").replace("gender: {column: SEX, map: {M: male}}",
                                                                                  "onsetDateTime: DATE"))
    assert "tables[0].elements: a `diagnoses` table needs `subject`, `code`" in error
    assert error.startswith("s.yaml line 7:")


@pytest.mark.parametrize("replace, expected", [
    (("encoding", "encoding: klingon\ntables"), "encoding: `klingon` is not an encoding"),
    (("encoding", "encoding: utf-16\ntables"), "encoding: `utf-16` is not ASCII-compatible"),
    (("encoding", "timezone: Asia/Pyongyang-ish\ntables"), "timezone: `Asia/Pyongyang-ish` is not an IANA timezone"),
    (("source_system: http://hospital.example.kr", "source_system: hospital"), "line 2: source_system: an absolute URL"),
    (("key: ID", "key: [A, B]"), "tables[0].key: other tables refer to `patients` rows by one column"),
    (("kind: patients", "kind: invoices"), "tables[0].kind: Must be one of"),
    (("{column: SEX, map: {M: male}}", "{column: SEX, value: male}"), "give either `column` or `value`"),
    (("{column: SEX, map: {M: male}}", "{column: SEX, colour: red}"), "tables[0].elements.gender.colour: Unknown field"),
])
def test_spec_errors_name_line_and_field(replace, expected):
    old, new = replace
    text = MINIMAL.replace("tables", new, 1) if old == "encoding" else MINIMAL.replace(old, new)
    errors = _errors(text)
    assert any(expected in error for error in errors), errors
    assert all(error.startswith("s.yaml line ") for error in errors)


def test_a_key_given_twice_is_an_error():
    [error] = _errors(MINIMAL + "      gender: SEX\n")
    assert error == "s.yaml line 9: `gender` appears twice"


def test_yaml_syntax_errors_give_the_line():
    [error] = _errors(MINIMAL + "  - kind: [unclosed\n")
    assert error.startswith("s.yaml line 1") and "not valid YAML or JSON" in error


def test_format_is_only_for_dates():
    [error] = _errors(MINIMAL.replace("{column: SEX, map: {M: male}}", "{column: SEX, format: '%Y'}"))
    assert "`format` is for dates and times" in error
