"""The compiled extractors against fhirpathpy, the general engine, where a form of expression is compiled specially."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fhir_server.search.fhirpath import compile_expression, is_compiled
from tests.search import oracle

EXAMPLES = Path(__file__).parent.parent / "data" / "r4-examples"
DECEASED = oracle.parameter("Patient", "deceased")


def _patients() -> list[dict]:
    examples = [json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("Patient-*.json"))]
    made = [{"resourceType": "Patient", **element} for element in (
        {}, {"deceasedBoolean": True}, {"deceasedBoolean": False}, {"deceasedDateTime": "2015-02-14T13:42:00+10:00"},
        {"deceasedDateTime": "2015"})]
    return examples + made


def test_the_deceased_flag_is_compiled():
    assert is_compiled(DECEASED["expression"], "Patient")


@pytest.mark.parametrize("patient", _patients(), ids=lambda patient: patient.get("id") or json.dumps(patient))
def test_the_deceased_flag_is_what_fhirpathpy_finds(patient):
    compiled = compile_expression(DECEASED["expression"], "Patient")
    assert compiled.roots is None  # a Patient without deceased[x] has a value too
    assert [value for value, _ in compiled(patient)] == oracle.values(patient, DECEASED)
