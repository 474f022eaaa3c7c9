"""Which interaction needs which permission (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html):
checked for every HTTP request and every Bundle entry before its handler runs. Whatever is not listed
here is for administrators only, so a new operation is closed until someone decides who may call it.
"""

from __future__ import annotations

from fhir_server.errors import Forbidden
from fhir_server.security.access import Access

_PERMISSION = {
    "read": "r", "vread": "r", "history-instance": "r",
    "search-type": "s", "search-compartment": "s",
    "create": "c", "update": "u", "patch": "u", "delete": "d",
}
_PUBLIC = {"capabilities"}  # the CapabilityStatement describes how to authenticate, so it needs none
_CONTAINERS = {"transaction"}  # a batch or transaction: each entry is authorized on its own
# Code systems, value sets and concept maps hold no patient data: any authenticated principal, the
# researchers building a cohort among them, may use these operations.
_TERMINOLOGY = {"$lookup", "$subsumes", "$validate-code", "$translate", "$expand"}
_BULK = {"$export", "bulk-status", "bulk-cancel", "bulk-file"}
# Cohort counts leave only as the node's privacy policy protects them, so researchers may ask them; saving a
# Group with its members also needs every Patient (checked by the handler).
_COHORTS = {"$cohort-count", "$cohort-save", "$cohort-federate"}
COHORT_ROLES = ("researcher", "user", "admin")


def authorize(access: Access, interaction: str, resource_type: str | None, conditional: bool) -> None:
    """Forbidden unless the principal may attempt this interaction; handlers narrow it to what it may see."""
    if not access.restricted or interaction in _PUBLIC | _CONTAINERS | _TERMINOLOGY:
        return
    permission = _PERMISSION.get(interaction)
    if permission is not None and resource_type is not None:
        access.require(resource_type, permission)
        if conditional:  # the criteria search, and must not find what the token may not see
            access.require(resource_type, "s")
    elif interaction == "history-type":
        access.require_everywhere(resource_type, "r", "The history of a whole type")
    elif interaction == "history-system":  # it holds the audit trail too
        access.require_role("admin")
        access.require_everywhere("*", "r", "The history of the whole server")
    elif interaction in _BULK:
        access.require_everywhere("*", "r", "A bulk export")
    elif interaction == "$import":
        access.require_role("integrator", "admin")
        access.require_everywhere("*", "c", "A bulk import")
    elif interaction in _COHORTS:
        access.require_role(*COHORT_ROLES)
    elif interaction == "$everything":
        access.require("Patient", "r")  # the handler confines it to the token's patient
    elif not access.has_role("admin"):
        raise Forbidden(f"`{interaction}` is for administrators.")
