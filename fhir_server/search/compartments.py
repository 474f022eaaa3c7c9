"""Compartments (https://hl7.org/fhir/R4/compartmentdefinition.html): which resources belong to, say,
Patient/123, from the official CompartmentDefinitions."""

from __future__ import annotations

from fhir_server.definitions import r4
from fhir_server.errors import BadRequest, NotFound
from fhir_server.search.query import AnyOf, Criterion
from fhir_server.search.types.reference import ReferenceValue

DEFINITION_URL = "http://hl7.org/fhir/CompartmentDefinition/{}"


def compartment_types() -> list[str]:
    return list(r4()["compartments"])


def resource_types(compartment_type: str) -> list[str]:
    """The resource types that can be in a compartment of this type (the compartment's own type among them)."""
    return [kind for kind, parameters in r4()["compartments"].get(compartment_type, {}).items() if parameters]


def membership(compartment_type: str, id_: str, resource_type: str) -> AnyOf:
    """The criterion that a ``resource_type`` resource is in the compartment ``compartment_type/id_``."""
    definitions = r4()["compartments"].get(compartment_type)
    if definitions is None:
        raise NotFound(f"There is no `{compartment_type}` compartment; compartments are "
                       f"{', '.join(compartment_types())}.")
    parameters = definitions.get(resource_type)
    if not parameters:
        raise BadRequest(f"`{resource_type}` resources are never in a `{compartment_type}` compartment.")
    nodes = []
    for parameter in parameters:
        if parameter == "{def}":
            continue
        nodes.append(Criterion(parameter, "reference", None, (ReferenceValue(compartment_type, id_),)))
    if resource_type == compartment_type:
        # The resource that defines the compartment is in it too.
        nodes.append(Criterion("_id", "id", None, (id_,)))
    return AnyOf(tuple(nodes))
