"""Parameters that shape search results rather than filter them: `_summary`, `_total`, `_include`
and `_revinclude` (https://hl7.org/fhir/R4/search.html#return)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fhir_server.errors import BadRequest
from fhir_server.search.parameters import Registry

SUMMARIES = ("true", "text", "data", "count", "false")
TOTALS = ("none", "estimate", "accurate")
NAMES = frozenset({"_summary", "_total", "_include", "_revinclude", "_include:iterate", "_revinclude:iterate", "_sort",
                   "_elements"})
_INCLUDES = frozenset({"_include", "_revinclude", "_include:iterate", "_revinclude:iterate"})
SORTABLE = frozenset({"string", "token", "date", "number", "quantity", "reference", "uri"})


# Per parameter type: the index column `_sort` orders by, ascending and descending (a resource's lowest
# value ascending, its highest descending: a date range's start and end).
SORT_COLUMNS = {"string": ("value", "value"), "token": ("code", "code"), "date": ("low", "high"),
                "number": ("value", "value"), "quantity": ("value", "value"),
                "reference": ("target_id", "target_id"), "uri": ("value", "value")}


@dataclass(frozen=True)
class SortKey:
    """One `_sort` parameter: ascending uses a resource's lowest value, descending its highest."""

    code: str
    kind: str  # the parameter type; `_id` and `_lastUpdated` sort by the resources table itself
    descending: bool
    stored: tuple[str, ...] = ()  # the `param` of the index rows holding its values, when not `code` alone

    @property
    def params(self) -> tuple[str, ...]:
        """The `param` of the index rows that hold its values: its code, or a union parameter's parts'."""
        return self.stored or (self.code,)

    @property
    def numeric(self) -> bool:
        return self.kind in ("date", "number", "quantity", "_lastUpdated")


@dataclass(frozen=True)
class Include:
    """`_include=Source:code[:Target]` (forward) or `_revinclude=Source:code[:Target]` (reverse); code `*` is any."""

    source_type: str
    code: str
    target_type: str | None
    reverse: bool
    iterate: bool


@dataclass
class ResultParameters:
    summary: str | None = None
    total: str | None = None
    includes: list[Include] = field(default_factory=list)
    sort: list[SortKey] = field(default_factory=list)


def parse(params: list[tuple[str, str]], registry: Registry, is_type: callable, resource_type: str,
          index) -> ResultParameters:
    """``index`` is the search index (``index.SearchIndex``): which parameters it offers, in which rows."""
    result = ResultParameters()
    for name, raw in params:
        if name == "_sort":
            result.sort.extend(_sort(part, resource_type, registry, index) for part in raw.split(","))
            continue
        if name == "_summary":
            if raw not in SUMMARIES:
                raise BadRequest(f"`_summary={raw}` is not one of {', '.join(SUMMARIES)}.", expression=(name,))
            result.summary = raw
        elif name == "_total":
            if raw not in TOTALS:
                raise BadRequest(f"`_total={raw}` is not one of {', '.join(TOTALS)}.", expression=(name,))
            result.total = raw
        elif name in _INCLUDES:
            result.includes.append(_include(name, raw, registry, is_type))
    return result


def _include(name: str, raw: str, registry: Registry, is_type: callable) -> Include:
    parts = raw.split(":")
    if len(parts) not in (2, 3) or not all(parts):
        raise BadRequest(f"`{name}={raw}` is not Type:parameter[:TargetType].", expression=(name,))
    source_type, code, target_type = parts[0], parts[1], parts[2] if len(parts) == 3 else None
    if not is_type(source_type) or (target_type is not None and not is_type(target_type)):
        raise BadRequest(f"`{name}={raw}` names a resource type this server does not support.", expression=(name,))
    if code != "*":
        parameter = registry.get(source_type, code)
        if parameter is None or parameter.type != "reference":
            raise BadRequest(f"`{name}={raw}`: `{code}` is not a reference parameter of `{source_type}`.",
                             expression=(name,))
    return Include(source_type, code, target_type, name.startswith("_revinclude"), name.endswith(":iterate"))


def _sort(text: str, resource_type: str, registry: Registry, index) -> SortKey:
    descending, code = text.startswith("-"), text.lstrip("-")
    if code in ("_id", "_lastUpdated"):
        return SortKey(code, code, descending)
    parameter = registry.get(resource_type, code)
    if parameter is None or parameter.type not in SORTABLE or not index.supports(resource_type, code):
        raise BadRequest(f"`_sort={text}`: `{resource_type}` has no search parameter `{code}` to sort by.",
                         expression=("_sort",))
    stored = index.stored_codes(resource_type, code)
    return SortKey(code, parameter.type, descending, stored if stored != (code,) else ())
