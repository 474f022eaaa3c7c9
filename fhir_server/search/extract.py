"""Index values extracted from resources on write.

Token parameters whose expression is a plain element path (``Patient.identifier``, a union of such
paths) are compiled into tuples of element names once; a resource is then walked along them.
"""

from __future__ import annotations

import re

from fhir_server.search.parameters import Registry

_PLAIN_PATH = re.compile(r"[A-Za-z][A-Za-z0-9]*(\.[a-z][A-Za-z0-9]*)+")


def plain_paths(resource_type: str, expression: str | None) -> list[tuple[str, ...]] | None:
    """Element paths of an expression for one type, or None if it needs a FHIRPath engine."""
    if not expression:
        return None
    paths = []
    for part in expression.split("|"):
        part = part.strip().removeprefix("(").removesuffix(")").strip()
        # Shared parameters (clinical-code, ...) union every type's path; only this type's parts count.
        if not part.startswith(resource_type + ".") and not part.startswith(resource_type + " "):
            continue
        if not _PLAIN_PATH.fullmatch(part):
            return None
        paths.append(tuple(part.split(".")[1:]))
    return paths or None


class TokenIndex:
    """Compiled token extractors for every resource type of a registry."""

    def __init__(self, registry: Registry, resource_types: tuple[str, ...]):
        self._paths: dict[str, list[tuple[str, list[tuple[str, ...]]]]] = {}
        for resource_type in resource_types:
            compiled = []
            for parameter in registry.for_type(resource_type):
                if parameter.type != "token":
                    continue
                paths = plain_paths(resource_type, parameter.expression)
                if paths:
                    compiled.append((parameter.code, paths))
            self._paths[resource_type] = compiled

    def supports(self, resource_type: str, code: str) -> bool:
        return any(name == code for name, _ in self._paths.get(resource_type, ()))

    def supported_codes(self, resource_type: str) -> list[str]:
        return [name for name, _ in self._paths.get(resource_type, ())]

    def rows(self, resource_type: str, id_: str, resource: dict) -> list[dict]:
        """search_token rows for the current version of a resource."""
        rows = []
        for code, paths in self._paths.get(resource_type, ()):
            seen = set()
            for path in paths:
                for value in _walk(resource, path):
                    for system, token in token_values(value):
                        if (system, token) not in seen:
                            seen.add((system, token))
                            rows.append({"resource_type": resource_type, "resource_id": id_, "param": code,
                                         "system": system, "code": token})
        return rows


def _walk(value, path: tuple[str, ...]):
    if not path:
        yield value
        return
    if isinstance(value, list):
        for item in value:
            yield from _walk(item, path)
    elif isinstance(value, dict) and path[0] in value:
        child = value[path[0]]
        for item in child if isinstance(child, list) else (child,):
            yield from _walk(item, path[1:])


def token_values(value) -> list[tuple[str | None, str | None]]:
    """(system, code) pairs of a Coding, CodeableConcept, Identifier, ContactPoint, code or boolean."""
    if isinstance(value, bool):
        return [(None, "true" if value else "false")]
    if isinstance(value, str):
        return [(None, value)]
    if not isinstance(value, dict):
        return []
    if "coding" in value:
        return [pair for coding in value["coding"] for pair in token_values(coding)]
    if "code" in value:
        return [(value.get("system"), value["code"])]
    if "value" in value:
        return [(value.get("system"), str(value["value"]))]
    return []
