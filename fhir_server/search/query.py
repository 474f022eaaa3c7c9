"""Search parameters of a request parsed into a backend-neutral query.

Several values of one parameter are OR, repeated parameters are AND
(https://hl7.org/fhir/R4/search.html#combining); token values take the four forms of
https://hl7.org/fhir/R4/search.html#token.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_server.errors import BadRequest
from fhir_server.search.extract import TokenIndex

# Parameters about the response's form that this server honours elsewhere; they filter nothing.
FORMAT_PARAMETERS = frozenset({"_format", "_pretty", "_count", "_cursor"})


@dataclass(frozen=True)
class TokenValue:
    system: str | None
    code: str | None
    any_system: bool = False


@dataclass(frozen=True)
class Criterion:
    """One parameter occurrence: the resource matches if any value matches."""

    parameter: str
    values: tuple[TokenValue, ...]


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Criterion] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


def parse(resource_type: str, params: list[tuple[str, str]], tokens: TokenIndex, *, strict: bool) -> SearchQuery:
    """Build the query; unknown parameters are ignored (and listed) unless ``strict``, then 400."""
    query = SearchQuery(resource_type)
    for name, raw in params:
        if name in FORMAT_PARAMETERS:
            continue
        code, _, modifier = name.partition(":")
        if code != "_id" and not tokens.supports(resource_type, code):
            if strict:
                raise BadRequest(f"Search parameter `{name}` is not supported for `{resource_type}`.",
                                 expression=(name,))
            query.ignored.append(name)
            continue
        if modifier:
            raise BadRequest(f"Modifier `:{modifier}` of search parameter `{code}` is not supported.",
                             expression=(name,))
        values = tuple(_token(value, code) for value in split_values(raw))
        if not values:
            raise BadRequest(f"Search parameter `{name}` has no value.", expression=(name,))
        query.criteria.append(Criterion(code, values))
    return query


def split_values(raw: str, separator: str = ",") -> list[str]:
    r"""Split on unescaped separators; ``\,`` ``\|`` ``\$`` and ``\\`` stand for themselves."""
    values, current, escaped = [], [], False
    for character in raw:
        if escaped:
            if character not in ",|$\\":
                current.append("\\")
            current.append(character)
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


def _token(value: str, code: str) -> TokenValue:
    if code == "_id":
        return TokenValue(None, value, any_system=True)
    parts = _split_unescaped_bar(value)
    if len(parts) == 1:
        return TokenValue(None, parts[0], any_system=True)
    system, token = parts
    return TokenValue(system or None, token or None)


def _split_unescaped_bar(value: str) -> list[str]:
    for index, character in enumerate(value):
        if character == "|" and (index == 0 or value[index - 1] != "\\"):
            return [value[:index].replace("\\|", "|"), value[index + 1:].replace("\\|", "|")]
    return [value.replace("\\|", "|")]
