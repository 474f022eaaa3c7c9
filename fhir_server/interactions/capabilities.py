"""capabilities: GET [base]/metadata (https://hl7.org/fhir/R4/capabilitystatement.html).

Derived from the declared interactions, the supported resource types and the search parameters
the engine honours, including SearchParameters stored on this server; served as bytes, rebuilt only
when those parameters change.
"""

from __future__ import annotations

import time
from importlib import metadata

from fhir_server import json_codec
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.search import compartments
from fhir_server.storage.instants import format_instant


def capabilities(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    with context.reading() as connection:
        context.search.refresh(connection)
    return FhirResponse(200, context.capability_statement())


def _operations(operations, levels: tuple[str, ...], resource_type: str | None) -> dict:
    """The `operation` entries of the operations declared at these levels (for this type)."""
    entries = [{"name": declared.name, "definition": declared.definition} for declared in operations
               if set(declared.levels) & set(levels)
               and (resource_type is None or declared.resource_type in (None, resource_type))]
    return {"operation": entries} if entries else {}


class CapabilityStatements:
    """The statement for the search registry in effect, built once per registry."""

    def __init__(self, interactions, operations, resource_types: tuple[str, ...], search, base_url: str,
                 security: dict | None = None):
        self._search = search
        self._arguments = (interactions, operations, resource_types, search, base_url, security)
        self._built_for, self._statement = None, b""

    def __call__(self) -> bytes:
        registry = self._search.registry
        if registry is not self._built_for:
            self._statement, self._built_for = capability_statement(*self._arguments), registry
        return self._statement


def capability_statement(interactions, operations, resource_types: tuple[str, ...], search, base_url: str,
                         security: dict | None = None) -> bytes:
    """``security`` is the `rest.security` element: CORS and how clients authenticate."""
    type_codes, system_codes, flags = [], [], {}
    for interaction in interactions:
        for code in interaction.capability_codes:
            target = type_codes if interaction.level in ("instance", "type") else system_codes
            if code not in target:
                target.append(code)
        flags.update(interaction.capability_flags)
    statement = {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": format_instant(time.time_ns() // 1_000_000),
        "kind": "instance",
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "software": {"name": "fhir-server", "version": metadata.version("fhir-server")},
        "implementation": {"description": "FHIR R4 clinical data server", **({"url": base_url} if base_url else {})},
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        "rest": [{
            "mode": "server",
            "security": security or {"cors": False},
            "resource": [
                {
                    "type": resource_type,
                    "interaction": [{"code": code} for code in type_codes],
                    **flags,
                    "searchParam": [
                        {"name": code, "type": kind, "definition": url}
                        for code, kind, url in search.supported_parameters(resource_type)
                    ],
                    **_operations(operations, ("type", "instance"), resource_type),
                }
                for resource_type in resource_types
            ],
            "interaction": [{"code": code} for code in system_codes],
            **_operations(operations, ("system",), None),
            "compartment": [compartments.DEFINITION_URL.format(name.lower()) for name in compartments.compartment_types()],
        }],
    }
    return json_codec.dump(statement)
