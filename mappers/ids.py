"""Deterministic resource ids: the same source record always gets the same FHIR id, so importing an export
twice creates nothing new and a changed record becomes a new version of the same resource.

A name-based UUID (RFC 9562 version 5) of the source system, the resource type and the record's key: 36
characters, inside FHIR's 64-character id alphabet (https://hl7.org/fhir/R4/datatypes.html#id), and
different source systems never collide.
"""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("0b6b4f3e-8d2a-5c1e-9f70-2a4c6e8b1d35")  # fixed forever: changing it re-keys every import


def resource_id(source_system: str, resource_type: str, *key: object) -> str:
    name = "\x1f".join((source_system, resource_type, *(str(part) for part in key)))
    return str(uuid.uuid5(_NAMESPACE, name))
