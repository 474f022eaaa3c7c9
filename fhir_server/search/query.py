"""Search parameters of a request parsed into a backend-neutral query.

Several values of one parameter are OR, repeated parameters are AND
(https://hl7.org/fhir/R4/search.html#combining). Each type's module parses its values.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from fhir_server.errors import BadRequest
from fhir_server.search.index import RESOURCE_COLUMNS, TYPES, SearchIndex
from fhir_server.search.parameters import Registry
from fhir_server.search.results import NAMES as RESULT_PARAMETERS
from fhir_server.search.types import composite, reference

# Parameters about the response's form that this server honours elsewhere; they filter nothing.
FORMAT_PARAMETERS = frozenset({"_format", "_pretty", "_count", "_cursor"}) | RESULT_PARAMETERS
FULL_TEXT = frozenset({"_text", "_content"})


COLUMN_KINDS = frozenset(RESOURCE_COLUMNS.values())  # criteria on the resources table's columns, not index rows


@dataclass(frozen=True)
class Criterion:
    """One parameter occurrence: the resource matches if any value matches."""

    code: str
    kind: str  # the parameter type, or one of COLUMN_KINDS
    modifier: str | None
    values: tuple
    missing: bool | None = None  # for `:missing=true|false`
    stored: tuple[str, ...] = ()  # the `param` of the index rows holding its values, when not `code` alone

    @property
    def params(self) -> tuple[str, ...]:
        """The `param` of the index rows that hold its values: its code, or a union parameter's parts'."""
        return self.stored or (self.code,)


@dataclass(frozen=True)
class Chain:
    """``subject:Patient.name=x``: the reference ``code`` points at a target that matches ``inner``.

    ``targets`` pairs each possible target type with the inner criterion parsed for that type.
    """

    code: str
    targets: tuple[tuple[str, "Node"], ...]


@dataclass(frozen=True)
class Has:
    """``_has:Observation:patient:code=x``: some ``source_type`` whose reference ``code`` points here matches ``inner``."""

    source_type: str
    code: str
    inner: "Node"


@dataclass(frozen=True)
class AnyOf:
    """Matches when any of ``nodes`` does, e.g. membership of a compartment through any of its parameters."""

    nodes: tuple["Node", ...]


@dataclass(frozen=True)
class AllOf:
    """Matches when all of ``nodes`` do: one of several OR'd queries, as a bulk export's `_typeFilter`s are."""

    nodes: tuple["Node", ...]


@dataclass(frozen=True)
class Every:
    """Matches every current resource of the type: a chain's target that need only exist."""


Node = Criterion | Chain | Has | AnyOf | AllOf | Every
MAX_DEPTH = 6  # links in one chain or _has; deeper is almost surely a mistake or an attack


@dataclass
class SearchQuery:
    resource_type: str
    criteria: list[Node] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


class _Unknown(Exception):
    """A parameter the type does not have: ignored, or 400 under strict handling."""


class _Parser:
    def __init__(self, registry: Registry, index: SearchIndex, base_url: str):
        self.registry, self.index, self.base_url = registry, index, base_url

    def node(self, resource_type: str, name: str, raw: str, depth: int = 0) -> Node:
        if depth > MAX_DEPTH:
            raise BadRequest(f"`{name}` chains more than {MAX_DEPTH} links.", expression=(name,))
        if name.startswith("_has:"):
            return self._has(resource_type, name, raw, depth)
        if "." in name.split("=")[0]:
            return self._chain(resource_type, name, raw, depth)
        code, _, modifier = name.partition(":")
        parameter = self.registry.get(resource_type, code)
        if parameter is None or not self.index.supports(resource_type, code):
            raise _Unknown(name)
        criterion = _criterion(parameter, code, modifier or None, raw, self.base_url)
        stored = self.index.stored_codes(resource_type, criterion.code)
        return criterion if stored == (criterion.code,) else dataclasses.replace(criterion, stored=stored)

    def _chain(self, resource_type: str, name: str, raw: str, depth: int) -> Chain:
        head, rest = name.split(".", 1)
        code, _, target_type = head.partition(":")
        parameter = self.registry.get(resource_type, code)
        if parameter is None:
            raise _Unknown(name)
        if parameter.type != "reference":
            raise BadRequest(f"`{code}` is a {parameter.type} parameter of `{resource_type}`; only reference "
                             f"parameters can be chained.", expression=(name,))
        if target_type and parameter.targets and target_type not in parameter.targets:
            raise BadRequest(f"`{code}` of `{resource_type}` cannot refer to a `{target_type}`.", expression=(name,))
        targets = []
        for candidate in (target_type,) if target_type else parameter.targets:
            try:
                targets.append((candidate, self.node(candidate, rest, raw, depth + 1)))
            except _Unknown:
                continue
        if not targets:
            raise _Unknown(name)
        return Chain(code, tuple(targets))

    def _has(self, resource_type: str, name: str, raw: str, depth: int) -> Has:
        parts = name.split(":", 3)
        if len(parts) < 4 or not all(parts[1:]):
            raise BadRequest(f"`{name}` is not `_has:Type:reference-parameter:parameter`.", expression=(name,))
        _, source_type, code, inner = parts
        parameter = self.registry.get(source_type, code)
        if parameter is None:
            raise BadRequest(f"`{source_type}` has no search parameter `{code}` (in `{name}`).", expression=(name,))
        if parameter.type != "reference":
            raise BadRequest(f"`{code}` of `{source_type}` is not a reference parameter (in `{name}`).",
                             expression=(name,))
        if parameter.targets and resource_type not in parameter.targets:
            raise BadRequest(f"`{code}` of `{source_type}` never refers to a `{resource_type}`.", expression=(name,))
        return Has(source_type, code, self.node(source_type, inner, raw, depth + 1))


def parse(resource_type: str, params: list[tuple[str, str]], registry: Registry, index: SearchIndex, *,
          strict: bool, base_url: str = "", full_text: bool = False) -> SearchQuery:
    """Build the query; unknown parameters are ignored (and listed) unless ``strict``, then 400.
    `_text` and `_content` are criteria of kind ``text`` where the backend offers ``full_text``."""
    query = SearchQuery(resource_type)
    parser = _Parser(registry, index, base_url)
    for name, raw in params:
        if name in FORMAT_PARAMETERS:
            continue
        if name in FULL_TEXT and full_text:
            query.criteria.append(Criterion(name, "text", None, tuple(split_values(raw))))
            continue
        if name.split(":")[0] in FULL_TEXT:
            raise BadRequest(f"`{name}` needs full-text search, which this search backend does not offer.",
                             expression=(name,))
        try:
            query.criteria.append(parser.node(resource_type, name, raw))
        except _Unknown:
            if strict:
                raise BadRequest(f"Search parameter `{name}` is not supported for `{resource_type}`.",
                                 expression=(name,)) from None
            query.ignored.append(name)
    return query


def _criterion(parameter, code: str, modifier: str | None, raw: str, base_url: str) -> Criterion:
    if modifier == "missing":
        if raw not in ("true", "false"):
            raise BadRequest(f"`{code}:missing` takes true or false, not `{raw}`.", expression=(f"{code}:missing",))
        return Criterion(code, _kind(parameter, code), "missing", (), missing=raw == "true")
    values = split_values(raw)
    if not values:
        raise BadRequest(f"Search parameter `{code}` has no value.", expression=(code,))
    if code == "_id":
        if modifier:
            raise BadRequest(f"Modifier `:{modifier}` is not supported for `_id`.", expression=(f"_id:{modifier}",))
        return Criterion(code, _kind(parameter, code), None, tuple(values))
    if parameter.type == "token" and modifier == "of-type":
        return Criterion(f"{code}:of-type", "composite", None,
                         tuple(TYPES["token"].parse(value, modifier, code) for value in values))
    if parameter.type == "composite":
        if modifier:
            raise BadRequest(f"Modifier `:{modifier}` is not supported for composite parameter `{code}`.",
                             expression=(f"{code}:{modifier}",))
        return Criterion(code, "composite", None, tuple(_composite(parameter, value, base_url) for value in values))
    if parameter.type == "reference" and modifier == "identifier":
        return Criterion(f"{code}:identifier", "token", None,
                         tuple(TYPES["token"].parse(value, None, code) for value in values))
    if parameter.type == "reference":
        parsed = tuple(reference.parse(value, modifier, code, parameter.targets, base_url) for value in values)
        return Criterion(code, "reference", None, parsed)
    module = TYPES[parameter.type]
    return Criterion(code, _kind(parameter, code), modifier,
                     tuple(module.parse(value, modifier, code) for value in values))


def _kind(parameter, code: str) -> str:
    return RESOURCE_COLUMNS.get(code, parameter.type)


def _composite(parameter, raw: str, base_url: str) -> composite.CompositeValue:
    parts = composite.split(raw, len(parameter.components), parameter.code)
    return composite.CompositeValue(tuple(
        (component.type, reference.parse(part, None, parameter.code, (), base_url) if component.type == "reference"
         else TYPES[component.type].parse(part, None, parameter.code))
        for component, part in zip(parameter.components, parts)))


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
