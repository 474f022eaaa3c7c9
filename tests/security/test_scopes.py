"""SMART scopes as the SMART App Launch IG writes them (scopes-and-launch-context.html)."""

from fhir_server.security.scopes import Scope, parse


def test_v2_scopes_name_their_permissions_letter_by_letter():
    assert parse(["patient/Observation.rs", "user/*.cruds", "system/*.rs"]) == [
        Scope("patient", "Observation", frozenset("rs")),
        Scope("user", "*", frozenset("cruds")),
        Scope("system", "*", frozenset("rs")),
    ]


def test_v1_read_is_read_and_search_and_write_is_create_update_delete():
    read, write, everything = parse(["patient/Condition.read", "user/Observation.write", "user/*.*"])
    assert read.permissions == frozenset("rs")
    assert write.permissions == frozenset("cud")
    assert everything.permissions == frozenset("cruds")


def test_scopes_that_are_not_about_resources_grant_nothing():
    assert parse(["openid", "fhirUser", "launch/patient", "offline_access"]) == []


def test_a_v2_scope_narrowed_by_a_query_grants_nothing_because_the_narrowing_is_not_enforced():
    assert parse(["patient/Observation.rs?category=laboratory"]) == []


def test_permissions_out_of_the_required_order_or_unknown_grant_nothing():
    assert parse(["user/Observation.sr", "user/Observation.rx", "user/Observation.", "user/observation.rs"]) == []


def test_a_scope_grants_only_its_type_and_permissions():
    scope = parse(["user/Observation.rs"])[0]
    assert scope.grants("Observation", "s") and scope.grants("Observation", "r")
    assert not scope.grants("Observation", "c") and not scope.grants("Patient", "r")
    assert parse(["user/*.r"])[0].grants("Patient", "r")
