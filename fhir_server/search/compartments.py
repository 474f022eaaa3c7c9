"""Compartments (https://hl7.org/fhir/R4/compartmentdefinition.html): which resources belong to, say,
Patient/123, from the official CompartmentDefinitions."""

from __future__ import annotations

from fhir_server.definitions import r4
from fhir_server.errors import BadRequest, NotFound
from fhir_server.search.query import AnyOf, Chain, Criterion, Node
from fhir_server.search.types.reference import ReferenceValue

DEFINITION_URL = "http://hl7.org/fhir/CompartmentDefinition/{}"


def compartment_types() -> list[str]:
    return list(r4()["compartments"])


def resource_types(compartment_type: str) -> list[str]:
    """The resource types that can be in a compartment of this type (the compartment's own type among them)."""
    return [kind for kind, parameters in r4()["compartments"].get(compartment_type, {}).items() if parameters]


def membership(compartment_type: str, id_: str, resource_type: str) -> AnyOf:
    """The criterion that a ``resource_type`` resource is in the compartment ``compartment_type/id_``."""
    nodes = [Criterion(parameter, "reference", None, (ReferenceValue(compartment_type, id_),))
             for parameter in _parameters(compartment_type, resource_type)]
    if resource_type == compartment_type:
        # The resource that defines the compartment is in it too.
        nodes.append(Criterion("_id", "id", None, (id_,)))
    return AnyOf(tuple(nodes))


def membership_of_any(compartment_type: str, owners: Node, resource_type: str) -> AnyOf:
    """The criterion that a ``resource_type`` resource is in the compartment of some ``compartment_type``
    resource that matches ``owners`` (``Every()`` for all of them), as a Patient or Group bulk export asks."""
    nodes: list[Node] = [Chain(parameter, ((compartment_type, owners),))
                         for parameter in _parameters(compartment_type, resource_type)]
    if resource_type == compartment_type:
        nodes.append(owners)
    return AnyOf(tuple(nodes))


def _parameters(compartment_type: str, resource_type: str) -> list[str]:
    """The reference parameters that put a ``resource_type`` resource in a ``compartment_type`` compartment."""
    definitions = r4()["compartments"].get(compartment_type)
    if definitions is None:
        raise NotFound(f"There is no `{compartment_type}` compartment; compartments are "
                       f"{', '.join(compartment_types())}.")
    parameters = definitions.get(resource_type)
    if not parameters:
        raise BadRequest(f"`{resource_type}` resources are never in a `{compartment_type}` compartment.")
    return [parameter for parameter in parameters if parameter != "{def}"]
