"""The node's policy around an answer: the ultra-rare rules, and the steward's log of exact counts."""

from __future__ import annotations

import dataclasses
import json

import pytest

from fhir_server.app import build_context
from fhir_server.cohorts import service
from fhir_server.errors import BadRequest, PolicyRefused
from fhir_server.storage import cohort_queries

MARFAN = {"criteria": {"diagnosis": {"system": "orpha", "code": "ORPHA:558"}}}
E11 = {"criteria": {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}}


@pytest.fixture
def context_for(hospital_settings):
    made = []

    def make(**changes):
        context = build_context(dataclasses.replace(hospital_settings, **changes))
        made.append(context)
        return context

    yield make
    for context in made:
        context.repository.database.dispose()


def _answer(context, definition, *breakdowns, requester="alice"):
    return service.count(context, service.question(context, definition, list(breakdowns), "2025-03-01"), requester)


def test_an_ultra_rare_diagnosis_is_answered_only_as_below_or_above_k(context_for, hospital_oracle):
    context = context_for(cohort_ultra_rare="http://www.orpha.net|558")
    exact = len(hospital_oracle.members(MARFAN))
    answer = _answer(context, MARFAN, "sex")
    assert answer.released()["total"] == ("<10" if exact < 10 else ">=10")
    assert answer.released()["breakdowns"] == {}
    assert "ultra-rare" in answer.rules[0] and "http://www.orpha.net|558" in answer.rules[0]
    assert "no breakdowns" in answer.rules[1]


def test_the_raise_k_rule_applies_the_higher_minimum_cell_size(context_for, hospital_oracle):
    context = context_for(cohort_ultra_rare="http://www.orpha.net|558", cohort_ultra_rare_rule="raise-k",
                          cohort_ultra_rare_k=20, cohort_epsilon=1e9, cohort_budget=1e12)
    answer = _answer(context, MARFAN)
    assert answer.k == 20 and answer.released()["total"] == "<20" and "k=20" in answer.rules[0]
    ordinary = _answer(context, E11)
    assert ordinary.k == 10 and ordinary.released()["total"] == len(hospital_oracle.members(E11))


def test_the_steward_log_keeps_exact_counts_the_requester_never_sees(context_for, hospital_oracle):
    context = context_for()
    answer = _answer(context, E11, "sex")
    with context.repository.database.read() as connection:
        entry = cohort_queries.log(connection, 1)[0]
    members = hospital_oracle.members(json.loads(json.dumps(E11)))
    assert entry["requester"] == "alice" and entry["outcome"] == "answered"
    assert entry["exact"]["total"] == len(members)
    assert entry["exact"]["sex"] == hospital_oracle.by_sex(members)
    assert entry["released"] == answer.released()
    assert entry["definition"] == E11 and entry["epsilon"] == pytest.approx(1.0)


def test_budgets_and_earlier_cohorts_are_per_requester(context_for):
    context = context_for(cohort_budget=0.75)  # one count each (0.5), not two
    _answer(context, E11, requester="alice")
    _answer(context, E11, requester="bob")
    with pytest.raises(PolicyRefused, match="budget"):
        _answer(context, {"criteria": {"sex": "male"}}, requester="alice")


def test_a_year_breakdown_needs_an_index_event(context_for):
    with pytest.raises(BadRequest, match="index"):
        _answer(context_for(), E11, "year")
