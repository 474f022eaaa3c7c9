"""What a principal may do: scopes narrowed by roles, patient/ scopes confined to the token's patient."""

import pytest

from fhir_server.errors import Forbidden
from fhir_server.security.access import EVERYWHERE, UNRESTRICTED, Access
from fhir_server.security.tokens import Principal


def _access(scopes: str, patient: str | None = None, roles: tuple[str, ...] = ()) -> Access:
    return Access(Principal("someone", "issuer", None, tuple(scopes.split()), patient, frozenset(roles), None))


def test_without_authentication_everything_is_reachable_everywhere():
    assert UNRESTRICTED.reach("Observation", "d") == EVERYWHERE


def test_a_user_scope_reaches_every_resource_of_its_type():
    access = _access("user/Observation.rs")
    assert access.reach("Observation", "s") == EVERYWHERE
    assert access.reach("Patient", "r") is None


def test_a_patient_scope_reaches_only_the_patients_compartment():
    access = _access("patient/*.rs", patient="p1")
    assert access.reach("Observation", "r") == "p1"
    assert access.reach("Patient", "r") == "p1"
    assert access.reach("*", "r") == "p1"  # all types at once: still one patient's record


def test_a_patient_scope_reaches_all_of_a_type_that_holds_no_patients_record():
    assert _access("patient/*.rs", patient="p1").reach("Medication", "r") == EVERYWHERE


def test_a_patient_scope_without_a_patient_in_the_token_reaches_nothing():
    assert _access("patient/*.rs").reach("Observation", "r") is None


def test_a_user_scope_next_to_a_patient_scope_lifts_the_confinement_for_its_type_only():
    access = _access("patient/*.rs user/Medication.rs user/Practitioner.rs", patient="p1")
    assert access.reach("Practitioner", "r") == EVERYWHERE
    assert access.reach("Observation", "r") == "p1"


def test_the_default_role_only_reads_whatever_the_scopes_say():
    access = _access("user/*.cruds")
    assert access.reach("Observation", "r") == EVERYWHERE
    assert access.reach("Observation", "c") is None
    assert _access("user/*.cruds", roles=("integrator",)).reach("Observation", "c") == EVERYWHERE


def test_a_researcher_reaches_no_resource_whatever_the_scopes():
    researcher = _access("user/*.cruds system/*.rs", roles=("researcher",))
    assert all(researcher.reach("Observation", permission) is None for permission in "cruds")
    with pytest.raises(Forbidden):
        researcher.require("Patient", "r")


def test_an_unknown_role_grants_nothing():
    assert _access("user/*.rs", roles=("superuser",)).reach("Observation", "r") is None


def test_only_administrators_change_terminology_and_search_parameters():
    integrator = _access("user/*.cruds", roles=("integrator",))
    assert integrator.reach("ValueSet", "r") == EVERYWHERE
    assert all(integrator.reach(kind, "u") is None for kind in ("CodeSystem", "ValueSet", "ConceptMap",
                                                                 "SearchParameter"))
    assert _access("user/*.cruds", roles=("admin",)).reach("SearchParameter", "c") == EVERYWHERE
