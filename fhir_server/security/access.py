"""What one request's principal may do: SMART scopes, narrowed by roles, and the patient compartment
that confines ``patient/`` scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).

A request may do a thing on a resource type when one of its scopes grants it and one of its roles
allows it. A ``user/`` or ``system/`` scope reaches every resource of the type; a ``patient/`` scope
only those in the token's patient's compartment. Types that are never in a patient's compartment
(Medication, Organization, Practitioner...) hold no patient's record, so a ``patient/`` scope reaches all
of them, as in other SMART servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

from fhir_server.errors import Forbidden
from fhir_server.search import compartments
from fhir_server.search.query import AnyOf
from fhir_server.security.audit import AUDIT_TYPE
from fhir_server.security import scopes as smart_scopes
from fhir_server.security.tokens import Principal

# Roles sit on top of scopes: what each may do with resources at most. Researchers reach only the
# cohort aggregate operations, never a resource; administrators also manage jobs, terminology and audit.
ROLES = {
    "user": frozenset("rs"),
    "integrator": frozenset("cruds"),
    "researcher": frozenset(),
    "admin": frozenset("cruds"),
}
DEFAULT_ROLE = "user"
# What the server's behaviour depends on (terminology, search parameters): administrators change it.
ADMINISTERED_TYPES = frozenset({"CodeSystem", "ValueSet", "ConceptMap", "NamingSystem", "SearchParameter"})
EVERYWHERE = "everywhere"  # the reach of a user/ or system/ scope


@dataclass(frozen=True)
class Access:
    """Decisions for one request; ``principal`` None means authentication is off and anything goes."""

    principal: Principal | None = None

    @property
    def restricted(self) -> bool:
        return self.principal is not None

    @property
    def requester(self) -> str | None:
        """Who this is, as recorded on the jobs they start: ``issuer|subject``."""
        return f"{self.principal.issuer}|{self.principal.subject}" if self.principal else None

    def may_follow(self, requester: str | None) -> bool:
        """Whether this principal may see a job started by ``requester``: its own, or any for administrators."""
        return not self.restricted or self.has_role("admin") or requester == self.requester

    def has_role(self, role: str) -> bool:
        return self.principal is None or role in self._roles()

    def reach(self, resource_type: str, permission: str) -> str | None:
        """EVERYWHERE, the id of the one patient whose compartment it is confined to, or None (not at all)."""
        if self.principal is None:
            return EVERYWHERE
        if resource_type == AUDIT_TYPE:
            # The trail is written by the server alone, and read by administrators alone.
            if permission in "cud" or "admin" not in self._roles():
                return None
        if resource_type in ADMINISTERED_TYPES and permission in "cud" and "admin" not in self._roles():
            return None
        if not any(permission in ROLES.get(role, ()) for role in self._roles()):
            return None
        granted = [scope for scope in self._scopes if scope.grants(resource_type, permission)]
        if any(scope.context in ("user", "system") for scope in granted):
            return EVERYWHERE
        if granted and self.principal.patient:
            if resource_type != "*" and resource_type not in _patient_compartment_types():
                return EVERYWHERE
            return self.principal.patient
        return None

    def require(self, resource_type: str, permission: str) -> str:
        """The reach, or :class:`Forbidden` naming what is missing."""
        reach = self.reach(resource_type, permission)
        if reach is None:
            raise Forbidden(f"The token's scopes and roles do not allow `{_WORDS[permission]}` on `{resource_type}`"
                            f" (a SMART scope such as `user/{resource_type}.{permission}`).")
        return reach

    def require_everywhere(self, resource_type: str, permission: str, why: str) -> None:
        """Forbidden unless a user/ or system/ scope reaches every such resource; ``why`` says what needs it."""
        if self.require(resource_type, permission) != EVERYWHERE:
            raise Forbidden(f"{why} needs a `user/` or `system/` scope: a `patient/` scope reaches one patient's "
                            "record only.")

    def require_role(self, *roles: str) -> None:
        if not any(self.has_role(role) for role in roles):
            raise Forbidden(f"Only the {' or '.join(f'`{role}`' for role in roles)} role may do this.")

    def compartment(self, resource_type: str, permission: str) -> AnyOf | None:
        """The criterion confining this permission on the type to the patient's compartment, or None."""
        reach = self.require(resource_type, permission)
        return None if reach == EVERYWHERE else compartments.membership("Patient", reach, resource_type)

    @cached_property
    def _scopes(self) -> list[smart_scopes.Scope]:
        return smart_scopes.parse(self.principal.scopes)  # once per request, not per decision

    def _roles(self) -> frozenset[str]:
        return self.principal.roles or frozenset({DEFAULT_ROLE})


@cache
def _patient_compartment_types() -> frozenset[str]:
    return frozenset(compartments.resource_types("Patient"))


UNRESTRICTED = Access()
_WORDS = {"c": "create", "r": "read", "u": "update", "d": "delete", "s": "search"}
