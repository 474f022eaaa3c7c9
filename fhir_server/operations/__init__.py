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
    """The operations as routable interactions (named ``$name`` for the request seam and audit)."""
    return [Interaction(f"${declared.name}", method, path, _with_type(declared.handler, declared.resource_type), level)
            for declared in OPERATIONS for level, path in declared.paths() for method in declared.methods]


def _with_type(handler: Callable, resource_type: str | None) -> Callable:
    """The handler, answering 404 on other types when the operation belongs to one type."""
    if resource_type is None:
        return handler

    def on_type(request, args, context):
        if args.get("type") != resource_type:
            raise NotFound(f"`{args.get('type')}` has no such operation; it is defined on `{resource_type}`.")
        return handler(request, args, context)
    return on_type


from fhir_server.operations import patient_everything, reindex  # noqa: E402  (they register themselves)
