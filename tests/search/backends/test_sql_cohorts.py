"""Cohorts over the SQL index (SQLite and PostgreSQL) against brute force over the raw resources
(tests/cohorts/oracle.py): exact members and breakdowns, before any privacy protection."""

from __future__ import annotations

import datetime
from contextlib import contextmanager

import pytest

from fhir_server.app import build_context
from fhir_server.cohorts import definition as cohort_definition
from fhir_server.cohorts import service
from fhir_server.settings import Settings
from terminology import valuesets
from tests.conftest import load_ndjson

E11 = {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}
DEFINITIONS = {
    "sex": {"criteria": {"sex": "female"}},
    "diagnosis below an ICD-10 category": {"criteria": E11},
    "diagnosis as a messy KCD code": {"criteria": {"diagnosis": {"system": "kcd", "code": "c509"}}},
    "diagnosis in a cohort value set": {"criteria": {"diagnosis": {"valueSet": valuesets.BASE + "all-cancers"}}},
    "a rare disease by its ORPHAcode": {"criteria": {"diagnosis": {"system": "orpha", "code": "ORPHA:558"}}},
    "rare diseases": {"criteria": {"diagnosis": {"valueSet": valuesets.BASE + "rare-diseases"}}},
    "age at a date": {"criteria": {"age": {"min": 40, "max": 64, "at": "2024-06-30"}}},
    "lab threshold": {"criteria": {"lab": {"code": "4548-4", "comparator": ">", "value": 7, "unit": "%"}}},
    "medication": {"criteria": {"medication": {"system": "hira-medication", "code": "643302330"}}},
    "procedure": {"criteria": {"procedure": {"system": "hira-procedure", "code": "E7611"}}},
    "encounter class": {"criteria": {"encounter": {"class": "IMP"}}},
    "variant gene and zygosity": {"criteria": {"variant": {"gene": "TP53", "zygosity": "heterozygous"}}},
    "variant by HGVS": {"criteria": {"variant": {"hgvs": "p.Arg175His"}}},
    "and, or, not": {"criteria": {"and": [
        {"or": [{"sex": "male"}, {"age": {"min": 70, "at": "2025-01-01"}}]},
        {"not": {"diagnosis": {"system": "icd10", "code": "I10"}}}]}},
    "lab within 90 days after diagnosis": {"index": E11, "criteria": {
        "lab": {"code": "4548-4", "comparator": ">", "value": 7, "within": {"fromDays": 0, "toDays": 90}}}},
    "age at diagnosis": {"index": E11, "criteria": {"age": {"min": 60, "at": "index"}}},
    "no lab within a year before diagnosis": {"index": {"diagnosis": {"valueSet": valuesets.BASE + "all-cancers"}},
                                              "criteria": {"not": {"lab": {"code": "718-7", "within": {
                                                  "fromDays": -365, "toDays": -1}}}}},
    "three criteria": {"criteria": {"and": [E11, {"sex": "female"}, {"lab": {"code": "2345-7", "comparator": ">=",
                                                                                "value": 126}}]}},
}


@pytest.fixture(scope="module")
def loaded(module_database_url, hospital_population, hospital_oracle):
    settings = Settings(database_url=module_database_url, terminology_folder="/nonexistent")
    load_ndjson(settings, hospital_population[0])
    context = build_context(settings)
    yield context, hospital_oracle
    context.repository.database.dispose()


@contextmanager
def _compiled(context, source):
    definition = cohort_definition.load(source, context.terminology)
    with context.reading() as connection:
        yield service.members(context, connection, definition)


@pytest.mark.parametrize("name", DEFINITIONS)
def test_cohort_members_match_brute_force(loaded, name):
    context, population = loaded
    source = DEFINITIONS[name]
    with _compiled(context, source) as compiled:
        assert set(compiled.member_ids()) == population.members(source)
        assert compiled.count() == len(population.members(source))


def test_the_definitions_are_not_trivial(loaded):
    _, population = loaded
    sizes = {name: len(population.members(source)) for name, source in DEFINITIONS.items()}
    assert all(0 < size < len(population.patients) for size in sizes.values()), sizes


@pytest.mark.parametrize("name", ["sex", "diagnosis below an ICD-10 category", "age at diagnosis", "three criteria"])
def test_breakdowns_match_brute_force(loaded, name):
    context, population = loaded
    source = DEFINITIONS[name]
    members = population.members(source)
    at = datetime.date(2025, 3, 1)
    with _compiled(context, source) as compiled:
        assert compiled.by_sex() == population.by_sex(members)
        assert compiled.by_age_band(at) == population.by_age_band(members, at)
        assert compiled.by_age_band_and_sex(at) == population.by_age_band_and_sex(members, at)
        diagnosis = compiled.by_diagnosis("http://hl7.org/fhir/sid/icd-10")
        without = len(members) - sum(diagnosis.values())
        assert {**diagnosis, **({"none": without} if without else {})} == population.by_diagnosis(members, source)
        if "index" in source:
            assert compiled.by_index_year() == population.by_index_year(members, source)
