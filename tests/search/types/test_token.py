"""Token index rows: a CodeableConcept's text is searchable by `:text` once, whether a coding's display or the text
itself says it."""

from fhir_server.search.types import token


def _rows(concept: dict) -> list[dict]:
    return token.index((concept, None))


def test_a_text_that_a_coding_displays_gets_no_row_of_its_own():
    assert _rows({"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hemoglobin"}],
                  "text": "Hemoglobin"}) == [{"system": "http://loinc.org", "code": "718-7", "text": "hemoglobin"}]


def test_a_text_that_no_coding_displays_gets_a_row_for_text():
    assert _rows({"coding": [{"system": "http://loinc.org", "code": "718-7", "display": "Hgb"},
                             {"system": "urn:local", "code": "L1"}], "text": "Hemoglobin"}) == [
        {"system": "http://loinc.org", "code": "718-7", "text": "hgb"},
        {"system": "urn:local", "code": "L1", "text": None},
        {"system": None, "code": None, "text": "hemoglobin"}]


def test_a_text_without_codings_is_a_row_for_text():
    assert _rows({"text": "혈색소"}) == [{"system": None, "code": None, "text": "혈색소"}]
