"""Search parameters of a request parsed into a backend-neutral query.

Several values of one parameter are OR, repeated parameters are AND
(https://hl7.org/fhir/R4/search.html#combining). Each type's module parses its values.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_server.errors import BadRequest
from fhir_server.search.index import TYPES, SearchIndex
from fhir_server.search.parameters import Registry
from fhir_server.search.types import reference

# Parameters about the response's form that this server honours elsewhere; they filter nothing.
FORMAT_PARAMETERS = frozenset({"_format", "_pretty", "_count", "_cursor"})


@dataclass(frozen=True)
class Criterion:
    """One parameter occurrence: the resource matches if any value matches."""

    code: str
    kind: str  # the parameter type, or "id" for `_id`
    modifier: str | None
    values: tuple
    missing: bool | None = None  # for `:missing=true|false`


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def parse(resource_type: str, params: list[tuple[str, str]], registry: Registry, index: SearchIndex, *,
          strict: bool, base_url: str = "") -> SearchQuery:
    """Build the query; unknown parameters are ignored (and listed) unless ``strict``, then 400."""
    query = SearchQuery(resource_type)
    for name, raw in params:
        if name in FORMAT_PARAMETERS:
            continue
        code, _, modifier = name.partition(":")
        parameter = registry.get(resource_type, code)
        if parameter is None or not index.supports(resource_type, code):
            if strict:
                raise BadRequest(f"Search parameter `{name}` is not supported for `{resource_type}`.",
                                 expression=(name,))
            query.ignored.append(name)
            continue
        query.criteria.append(_criterion(parameter, code, modifier or None, raw, base_url))
    return query


def _criterion(parameter, code: str, modifier: str | None, raw: str, base_url: str) -> Criterion:
    if modifier == "missing":
        if raw not in ("true", "false"):
            raise BadRequest(f"`{code}:missing` takes true or false, not `{raw}`.", expression=(f"{code}:missing",))
        return Criterion(code, parameter.type, "missing", (), missing=raw == "true")
    values = split_values(raw)
    if not values:
        raise BadRequest(f"Search parameter `{code}` has no value.", expression=(code,))
    if code == "_id":
        if modifier:
            raise BadRequest(f"Modifier `:{modifier}` is not supported for `_id`.", expression=(f"_id:{modifier}",))
        return Criterion(code, "id", None, tuple(values))
    if parameter.type == "reference" and modifier == "identifier":
        return Criterion(f"{code}:identifier", "token", None,
                         tuple(TYPES["token"].parse(value, None, code) for value in values))
    if parameter.type == "reference":
        parsed = tuple(reference.parse(value, modifier, code, parameter.targets, base_url) for value in values)
        return Criterion(code, "reference", None, parsed)
    module = TYPES[parameter.type]
    return Criterion(code, parameter.type, modifier, tuple(module.parse(value, modifier, code) for value in values))


def split_values(raw: str, separator: str = ",") -> list[str]:
    r"""Split on unescaped separators; ``\,`` stands for a comma, other escapes are kept for the type."""
    values, current, escaped = [], [], False
    for character in raw:
        if escaped:
            current.append(character if character == separator else "\\" + character)
            escaped = False
        elif character == "\\":
            escaped = True
        elif character == separator:
            values.append("".join(current))
            current = []
        else:
            current.append(character)
    if escaped:
        current.append("\\")
    values.append("".join(current))
    return [value for value in values if value != ""]
