"""Extended operations (https://hl7.org/fhir/R4/operations.html), each declared once with ``@operation``.

Routes and the CapabilityStatement's ``operation`` entries are derived from ``OPERATIONS``, as the
interactions' are from ``INTERACTIONS``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from fhir_server.errors import NotFound
from fhir_server.interactions import Interaction

_PATHS = {"system": "/${name}", "type": "/<type>/${name}", "instance": "/<type>/<id>/${name}"}


@dataclass(frozen=True)
class Operation:
    name: str  # as in the URL, without `$`
    definition: str  # canonical URL of its OperationDefinition
    levels: tuple[str, ...]  # system, type and/or instance
    resource_type: str | None  # None: every type
    methods: tuple[str, ...]
    handler: Callable

    def paths(self) -> list[tuple[str, str]]:
        """(level, werkzeug rule) for each level."""
        return [(level, _PATHS[level].replace("${name}", f"${self.name}")) for level in self.levels]


OPERATIONS: list[Operation] = []


def operation(name: str, *, definition: str, levels: tuple[str, ...], resource_type: str | None = None,
              methods: tuple[str, ...] = ("POST",)):
    """Declare the decorated handler ``(request, args, context) -> FhirResponse`` as ``$name``."""
    def register(handler: Callable) -> Callable:
        OPERATIONS.append(Operation(name, definition, levels, resource_type, methods, handler))
        return handler
    return register


def interactions() -> list[Interaction]:
    """The operations as routable interactions (named ``$name`` for the request seam and audit).

    Operations of one name on different types (CodeSystem and ValueSet `$validate-code`) share a route
    and are told apart by the type in the URL."""
    routes: dict[tuple[str, str, str], list[Operation]] = {}
    for declared in OPERATIONS:
        for level, path in declared.paths():
            for method in declared.methods:
                routes.setdefault((method, path, level), []).append(declared)
    return [Interaction(f"${declared[0].name}", method, path, _by_type(declared), level)
            for (method, path, level), declared in routes.items()]


def _by_type(declared: list[Operation]) -> Callable:
    """The handler for the type in the URL; 404 on types that have no such operation."""
    if len(declared) == 1 and declared[0].resource_type is None:
        return declared[0].handler
    handlers = {operation.resource_type: operation.handler for operation in declared}

    def on_type(request, args, context):
        handler = handlers.get(args.get("type"), handlers.get(None))
        if handler is None:
            owners = ", ".join(f"`{kind}`" for kind in handlers)
            raise NotFound(f"`{args.get('type')}` has no such operation; it is defined on {owners}.")
        return handler(request, args, context)
    return on_type


from fhir_server.operations import (bulk_export, bulk_import, codesystem_lookup, codesystem_subsumes,  # noqa: E402
                                    codesystem_validate_code, conceptmap_translate, group_cohort_count,
                                    group_cohort_federate, group_cohort_save, patient_everything, reindex, valueset_expand,
                                    valueset_validate_code)  # (they register themselves)
