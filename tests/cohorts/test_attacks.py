"""Attacks a researcher could mount on the cohort answers, over HTTP with the default policy (k=10, noise of
scale 2, a budget of 20): each must fail to recover a suppressed or exact count."""

from __future__ import annotations

import dataclasses
import json
import statistics

import pytest

from fhir_server.app import create_app
from fhir_server.cohorts.parameters import from_parameters
from fhir_server.storage import cohort_queries

K = 10
FEMALE = {"sex": "female"}


def _ask(client, definition, *breakdowns):
    parameter = [{"name": "definition", "valueString": json.dumps(definition)}, {"name": "ageAt", "valueString": "2025-03-01"},
                 *({"name": "breakdown", "valueCode": name} for name in breakdowns)]
    return client.post("/fhir/Group/$cohort-count", json={"resourceType": "Parameters", "parameter": parameter})


@pytest.fixture
def node(hospital_settings):
    app = create_app(dataclasses.replace(hospital_settings, cohort_budget=1000.0))
    yield app.test_client(), app.extensions["fhir"]
    app.extensions["fhir"].repository.database.dispose()


def _few_of(oracle, members: set[str]) -> tuple[str, set[str]]:
    """An ICD-10 category that fewer than K of ``members`` have: a way to single out a few patients."""
    for category in sorted({code[:3] for resource in oracle.by_type["Condition"]
                            for system, code in oracle.codings(resource.get("code")) if system.endswith("icd-10")}):
        having = oracle.members({"criteria": {"diagnosis": {"system": "icd10", "code": category, "below": True}}})
        if 0 < len(having & members) < K:
            return category, having & members
    raise AssertionError("no small subgroup to attack")


def test_differencing_two_cohorts_that_differ_by_a_few_patients_is_refused(node, hospital_oracle):
    client, context = node
    women = hospital_oracle.members({"criteria": FEMALE})
    category, few = _few_of(hospital_oracle, women)
    assert _ask(client, {"criteria": FEMALE}).status_code == 200
    without_few = {"criteria": {"and": [FEMALE, {"not": {"diagnosis": {"system": "icd10", "code": category,
                                                                          "below": True}}}]}}
    response = _ask(client, without_few)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["issue"][0]["code"] == "business-rule"
    assert str(len(few)) not in response.get_json()["issue"][0]["diagnostics"]
    # The steward sees the refusal with its exact count; the researcher never did.
    with context.repository.database.read() as connection:
        newest = cohort_queries.log(connection, 1)[0]
    assert newest["outcome"] == "refused" and newest["exact"]["total"] == len(women) - len(few)


def test_repeating_a_question_returns_the_same_answer_and_costs_nothing(node):
    client, _ = node
    answers = [_ask(client, {"criteria": FEMALE}, "age-band").get_json() for _ in range(25)]
    released = [from_parameters(answer) for answer in answers]
    assert all(each == released[0] for each in released)
    spent = [next(p["valueDecimal"] for p in answer["parameter"] if p["name"] == "epsilon") for answer in answers]
    assert spent[0] > 0 and set(spent[1:]) == {0.0}


def test_averaging_rephrasings_of_one_cohort_learns_nothing(node, hospital_oracle):
    client, _ = node
    exact = len(hospital_oracle.members({"criteria": FEMALE}))
    rephrasings = [{"criteria": FEMALE}, {"criteria": {"and": [FEMALE, FEMALE]}}, {"criteria": {"or": [FEMALE]}},
                   {"criteria": {"not": {"not": FEMALE}}},
                   *({"criteria": {"and": [FEMALE, {"age": {"max": 150, "at": f"20{year}-01-01"}}]}}
                     for year in range(10, 25))]
    totals = [from_parameters(_ask(client, definition).get_json())["total"] for definition in rephrasings]
    assert len(set(totals)) == 1, totals  # one noisy answer, however often and however phrased
    assert abs(statistics.mean(totals) - exact) == abs(totals[0] - exact)


def test_averaging_across_cohorts_does_not_converge_on_a_small_cell(node, hospital_oracle):
    """Small cells are never released noisy, so there is nothing to average: every question about the few
    patients of a rare category answers `<k` for them, whatever the cohort around them."""
    client, _ = node
    women = hospital_oracle.members({"criteria": FEMALE})
    category, few = _few_of(hospital_oracle, women)
    shown = set()
    for year in range(2000, 2012):
        definition = {"criteria": {"and": [{"diagnosis": {"system": "icd10", "code": category, "below": True}},
                                           {"age": {"max": 150, "at": f"{year}-06-30"}}]}}
        response = _ask(client, definition, "sex")
        if response.status_code == 200:
            shown.add(json.dumps(from_parameters(response.get_json())["breakdowns"]["sex"]["female"]))
    assert shown <= {json.dumps(f"<{K}")}


def test_small_cells_cannot_be_recovered_from_the_margins(node, hospital_oracle):
    """For every breakdown: the total minus the published cells is the sum of at least two suppressed cells,
    which is none or at least k, so no single small count is recovered; and secondary suppression did act."""
    client, context = node
    questions = [{"criteria": {"diagnosis": {"system": "icd10", "code": code, "below": True}}}
                 for code in ("E11", "I10", "C50", "K21", "E78", "J45", "C16", "M17")]
    secondary_seen = False
    for definition in questions:
        response = _ask(client, definition, "sex", "age-band", "diagnosis")
        if response.status_code != 200:
            continue
        with context.repository.database.read() as connection:
            exact = cohort_queries.log(connection, 1)[0]["exact"]
        for name, cells in from_parameters(response.get_json())["breakdowns"].items():
            hidden = [label for label, value in cells.items() if isinstance(value, str)]
            if not hidden:
                continue
            true_counts = exact[name]
            published = {label for label, value in cells.items() if not isinstance(value, str)}
            if "other" in cells:  # pooled categories: everything not named is in `other`
                true_counts = {**{label: true_counts[label] for label in published},
                               "other": sum(count for label, count in true_counts.items() if label not in published)}
            recovered = sum(count for label, count in true_counts.items() if label not in published)
            assert len(hidden) >= 2 and (recovered == 0 or recovered >= K), (name, cells, true_counts)
            secondary_seen |= any(true_counts.get(label, 0) >= K for label in hidden)
    assert secondary_seen, "no breakdown needed secondary suppression: the test proves nothing"


def test_the_budget_ends_a_stream_of_new_questions(hospital_settings):
    app = create_app(dataclasses.replace(hospital_settings, cohort_budget=3.0, cohort_epsilon=0.5))
    client = app.test_client()
    statuses = [_ask(client, {"criteria": {"age": {"min": 20 + step, "at": "2025-01-01"}}}).status_code
                for step in range(0, 80, 10)]
    assert statuses == [200] * 6 + [403] * 2
    refused = _ask(client, {"criteria": {"age": {"min": 95, "at": "2025-01-01"}}}).get_json()
    assert "privacy budget" in refused["issue"][0]["diagnostics"]
    assert _ask(client, {"criteria": {"age": {"min": 20, "at": "2025-01-01"}}}).status_code == 200  # a repeat is free
    app.extensions["fhir"].repository.database.dispose()
