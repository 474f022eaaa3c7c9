"""SMART on FHIR scopes (https://hl7.org/fhir/smart-app-launch/scopes-and-launch-context.html).

v2 ``patient/Observation.rs``, ``user/*.cruds``, ``system/*.rs`` and their v1 forms ``.read``,
``.write`` and ``.*``. Scopes that are not about resources (``openid``, ``launch``) grant nothing here,
and so do v2 scopes narrowed by a query (``?category=...``): this server does not enforce those
narrowings, so honouring them would grant more than the token says.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PERMISSIONS = "cruds"  # create, read, update, delete, search, in the order v2 requires
_V1 = {"read": frozenset("rs"), "write": frozenset("cud"), "*": frozenset(PERMISSIONS)}
_SCOPE = re.compile(r"(patient|user|system)/(\*|[A-Z][A-Za-z]{0,63})\.(\*|read|write|c?r?u?d?s?)")


@dataclass(frozen=True)
class Scope:
    context: str  # patient, user or system
    resource_type: str  # a type, or * for all
    permissions: frozenset[str]

    def grants(self, resource_type: str, permission: str) -> bool:
        return self.resource_type in ("*", resource_type) and permission in self.permissions


def parse(scopes: tuple[str, ...] | list[str]) -> list[Scope]:
    parsed = []
    for text in scopes:
        match = _SCOPE.fullmatch(text)
        if match is None or not match.group(3):
            continue
        context, resource_type, permissions = match.groups()
        parsed.append(Scope(context, resource_type, _V1.get(permissions) or frozenset(permissions)))
    return parsed
