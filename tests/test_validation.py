"""Validation in a pool of processes finds exactly what validating in the importing process finds, in order."""

from __future__ import annotations

import copy

from fhir_server import resources
from fhir_server.errors import FhirError
from fhir_server.validation import Validator


def _batch() -> list[dict]:
    batch = []
    for number in range(150):
        resource = {"resourceType": "Observation", "id": f"o{number}", "status": "final", "code": {"text": "HbA1c"},
                    "valueQuantity": {"value": number / 10, "unit": "%"}}
        if number % 7 == 3:
            resource["colour"] = "red"  # an element Observation does not have
        if number % 11 == 5:
            resource["status"] = ["final"]  # a list where a code belongs
        batch.append(resource)
    return batch


def _reference(batch: list[dict]) -> list:
    """What fhir.resources says of each resource, checked here one by one."""
    found = []
    for resource in batch:
        try:
            resources.validate(copy.deepcopy(resource))
            found.append(None)
        except FhirError as error:
            found.append(error.message)
    return found


def test_a_pool_reports_the_same_problems_as_validating_in_process():
    batch = _batch()
    pooled = Validator(workers=2).submit(batch)()
    assert [problem[0] if problem else None for problem in pooled] == _reference(batch)
    assert sum(problem is not None for problem in pooled) == len([n for n in range(150) if n % 7 == 3 or n % 11 == 5])
    assert pooled[3][1] == "Observation.colour"


def test_a_small_batch_is_validated_in_the_calling_process():
    batch = _batch()[:10]
    assert Validator(workers=2).submit(batch)() == Validator(workers=1).submit(batch)()
