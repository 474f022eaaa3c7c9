"""The search-parameter registry, built from the official R4 SearchParameter definitions."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_server.search.fhirpath import split_top


@dataclass(frozen=True)
class Component:
    """One component of a composite parameter: its type (from its definition) and its path within the element."""

    type: str
    expression: str


@dataclass(frozen=True)
class SearchParameter:
    """One SearchParameter as it applies to one resource type."""

    code: str
    type: str
    url: str
    expression: str | None
    targets: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()


class Registry:
    """Lookup of search parameters by resource type and code; of two definitions with the same code for
    a type, the earlier wins (so SearchParameters stored on the server go before the R4 ones)."""

    def __init__(self, definitions: list[dict], resource_types: tuple[str, ...]):
        self._by_type: dict[str, dict[str, SearchParameter]] = {name: {} for name in resource_types}
        types_by_url = {definition["url"]: definition["type"] for definition in definitions}
        for definition in definitions:
            components = tuple(Component(types_by_url.get(component["definition"], "unknown"), component["expression"] or "")
                               for component in definition.get("component", ()))
            if any(component.type == "unknown" for component in components):
                continue  # a stored composite whose component definitions are not (yet) here shadows nothing
            parameter = SearchParameter(definition["code"], definition["type"], definition["url"],
                                        definition.get("expression"), tuple(definition.get("target", ())),
                                        components)
            for base in definition["base"]:
                targets = resource_types if base in ("Resource", "DomainResource") else (base,)
                for resource_type in targets:
                    if resource_type in self._by_type:
                        self._by_type[resource_type].setdefault(parameter.code, parameter)

    def get(self, resource_type: str, code: str) -> SearchParameter | None:
        return self._by_type.get(resource_type, {}).get(code)

    def for_type(self, resource_type: str) -> list[SearchParameter]:
        return list(self._by_type.get(resource_type, {}).values())


def unions(parameters: list[SearchParameter], resource_type: str) -> dict[str, tuple[str, ...]]:
    """The parameters of ``resource_type`` whose expression is exactly the union (FHIRPath ``|``) of other
    parameters' expressions, each with those parameters' codes: R4's Observation ``combo-*`` parameters join a
    plain one and its ``component-*`` one. A union's values are its parts' values, so they need not be indexed
    twice. References are left out: chains, includes and compartments follow one parameter's rows."""
    terms = {parameter.code: _terms(parameter.expression, resource_type) for parameter in parameters
             if parameter.expression and parameter.type != "reference"}
    covered = {}  # each parameter whose terms others' cover, with those others
    for union in parameters:
        whole = terms.get(union.code)
        if not whole or len(whole) < 2:
            continue
        parts = [part.code for part in parameters if part.code != union.code and terms.get(part.code)
                 and terms[part.code] < whole and _alike(part, union)]
        if _cover(parts, terms, whole):
            covered[union.code] = parts
    found = {}
    for code, parts in covered.items():
        stored = tuple(sorted(part for part in parts if part not in covered))  # parts with rows of their own
        if _cover(stored, terms, terms[code]):
            found[code] = stored
    return found


def _cover(parts, terms: dict[str, frozenset[str]], whole: frozenset[str]) -> bool:
    return bool(parts) and frozenset().union(*(terms[part] for part in parts)) == whole


def _alike(part: SearchParameter, union: SearchParameter) -> bool:
    """Whether ``part``'s rows can stand for ``union``'s: same type, components and targets."""
    return (part.type, part.components, part.targets) == (union.type, union.components, union.targets)


def _terms(expression: str, resource_type: str) -> frozenset[str]:
    """The operands of an expression's top-level ``|`` that apply to ``resource_type`` (a shared parameter's
    expression joins the paths of every base type)."""
    return frozenset(term for term in split_top(expression, "|") if term.lstrip("(") == resource_type
                     or term.lstrip("(").startswith(resource_type + "."))


def definition_of(resource: dict) -> dict:
    """A stored SearchParameter resource in the registry's compact form (as tools/generate_definitions.py writes)."""
    definition = {key: resource[key] for key in ("url", "code", "base", "type", "expression", "target")
                  if key in resource}
    if "component" in resource:
        definition["component"] = [{"definition": component.get("definition"), "expression": component.get("expression")}
                                   for component in resource["component"]]
    return definition


def is_in_effect(resource: dict) -> bool:
    """Whether a stored SearchParameter applies: active ones do, as in HAPI FHIR; drafts and retired ones do not."""
    return resource.get("status") == "active"
