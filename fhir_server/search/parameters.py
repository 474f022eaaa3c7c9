"""The search-parameter registry, built from the official R4 SearchParameter definitions."""

from __future__ import annotations

from dataclasses import dataclass

from fhir_server.definitions import r4


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
    """Lookup of search parameters by resource type and code."""

    def __init__(self, definitions: list[dict], resource_types: tuple[str, ...]):
        self._by_type: dict[str, dict[str, SearchParameter]] = {name: {} for name in resource_types}
        types_by_url = {definition["url"]: definition["type"] for definition in definitions}
        for definition in definitions:
            components = tuple(Component(types_by_url.get(component["definition"], "unknown"), component["expression"])
                               for component in definition.get("component", ()))
            parameter = SearchParameter(definition["code"], definition["type"], definition["url"],
                                        definition.get("expression"), tuple(definition.get("target", ())),
                                        components)
            for base in definition["base"]:
                targets = resource_types if base in ("Resource", "DomainResource") else (base,)
                for resource_type in targets:
                    if resource_type in self._by_type:
                        self._by_type[resource_type].setdefault(parameter.code, parameter)

    @classmethod
    def r4(cls, resource_types: tuple[str, ...]) -> "Registry":
        return cls(r4()["searchParameters"], resource_types)

    def get(self, resource_type: str, code: str) -> SearchParameter | None:
        return self._by_type.get(resource_type, {}).get(code)

    def for_type(self, resource_type: str) -> list[SearchParameter]:
        return list(self._by_type.get(resource_type, {}).values())
