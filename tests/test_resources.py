"""Validation with fhir.resources' R4B models against the R4 definitions."""

import pytest

from fhir_server import resources
from fhir_server.errors import InvalidResource


def test_supported_types_are_r4_types_with_a_model():
    supported = set(resources.supported_resource_types())
    assert {"Patient", "Observation", "Condition", "Bundle", "MolecularSequence"} <= supported
    # R4-only types have no R4B model; R4B-only types are not R4.
    assert "MedicinalProduct" not in supported and "SubscriptionTopic" not in supported
    assert len(supported) + len(resources.unsupported_resource_types()) == 146


def test_valid_resource_passes():
    resources.validate({"resourceType": "Observation", "status": "final", "code": {"text": "x"}})


@pytest.mark.parametrize("resource, path", [
    ({"resourceType": "Observation", "code": {"text": "x"}}, "Observation.status"),
    ({"resourceType": "Patient", "birthDate": "1990-13-01"}, "Patient.birthDate"),
    ({"resourceType": "Patient", "name": [{"given": [1]}]}, "Patient.name[0].given[0]"),
    ({"resourceType": "Patient", "unknownElement": True}, "Patient.unknownElement"),
])
def test_invalid_resource_names_the_element(resource, path):
    with pytest.raises(InvalidResource) as caught:
        resources.validate(resource)
    assert path in [expression for issue in caught.value.issues for expression in issue.expression]


def test_paths_inside_a_bundle_entry_are_prefixed():
    with pytest.raises(InvalidResource) as caught:
        resources.validate({"resourceType": "Patient", "gender": 1}, "Bundle.entry[4].resource")
    assert caught.value.issues[0].expression == ("Bundle.entry[4].resource.gender",)


@pytest.mark.parametrize("resource", [
    {"resourceType": "Patient", "contained": [{"resourceType": "NotAType"}]},
    {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {"resourceType": "Nope"}}]},
    {"resourceType": "Parameters", "parameter": [{"name": "x", "resource": {"resourceType": "patient"}}]},
])
def test_an_inline_resource_of_an_unknown_type_is_invalid(resource):
    with pytest.raises(InvalidResource, match="not an R4 resource type"):
        resources.validate(resource)
