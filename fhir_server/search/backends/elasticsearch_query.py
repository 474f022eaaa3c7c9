"""A SearchQuery compiled to Elasticsearch query DSL, with the same rules per prefix and modifier as
the SQL backend's conditions (https://hl7.org/fhir/R4/search.html).

Each criterion is a ``nested`` query on its parameter's values (one value's columns match together);
``:not``, ``:not-in`` and ``:missing=true`` are ``must_not`` of the positive match. Values go into
term, prefix, range and wildcard queries only, never into ``query_string``: a user's value is data,
and a wildcard query's own special characters are escaped. Chains and ``_has`` are answered by the
caller (``resolve``), which collects the matching ids on the other index.
"""

from __future__ import annotations

import time
from typing import Callable

from fhir_server.search.query import COLUMN_KINDS, AllOf, AnyOf, Chain, Criterion, Every, Has, Node
from fhir_server.search.types import composite
from fhir_server.search.types.composite import CompositeValue
from fhir_server.search.types.date import DateValue
from fhir_server.search.types.number import NumberValue
from fhir_server.search.types.quantity import QuantityValue
from fhir_server.search.types.reference import ReferenceValue
from fhir_server.search.types.string import normalize

MATCH_ALL = {"match_all": {}}
MATCH_NONE = {"match_none": {}}


def _all(*queries) -> dict:
    return {"bool": {"filter": list(queries)}}


def _any(queries) -> dict:
    queries = list(queries)
    return queries[0] if len(queries) == 1 else {"bool": {"should": queries, "minimum_should_match": 1}}


def _not(query) -> dict:
    return {"bool": {"must_not": [query]}}


def _term(field: str, value) -> dict:
    return {"term": {field: value}}


def _range(field: str, **bounds) -> dict:
    return {"range": {field: bounds}}


def _absent(field: str) -> dict:
    return _not({"exists": {"field": field}})


def escape_wildcard(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


class Fields:
    """Field names of one parameter's columns (``p.<code>.<column>``), under the names its type's
    conditions use; a composite slot renames them to its numbered columns."""

    def __init__(self, path: str, names: dict[str, str] | None = None):
        self.path, self._names = path, names or {}

    def __getitem__(self, name: str) -> str:
        name = self._names.get(name, name)
        return f"{self.path}.{name}" if self.path else name


def _string(fields: Fields, criterion: Criterion, value: str, _) -> dict:
    if criterion.modifier == "exact":
        return _term(fields["exact"], value)
    if criterion.modifier == "contains":
        return {"wildcard": {fields["value"]: {"value": f"*{escape_wildcard(normalize(value))}*"}}}
    return {"prefix": {fields["value"]: normalize(value)}}


def _token(fields: Fields, criterion: Criterion, value, terminology) -> dict:
    if criterion.modifier == "text":
        return {"prefix": {fields["text"]: normalize(value)}}
    if criterion.modifier in ("below", "above", "in"):
        return _any([_all(_term(fields["system"], system), {"terms": {fields["code"]: codes}})
                     for system, codes in terminology(criterion.modifier, value).items()] or [MATCH_NONE])
    conditions = []
    if value.code is not None:
        conditions.append(_term(fields["code"], value.code))
    if not value.any_system:
        conditions.append(_absent(fields["system"]) if value.system is None else _term(fields["system"], value.system))
    return _all(*conditions)


def _date(fields: Fields, criterion: Criterion, value: DateValue, _) -> dict:
    low, high = fields["low"], fields["high"]
    contained = _all(_range(low, gte=value.low), _range(high, lte=value.high))
    if value.prefix == "ap":
        # As the SQL backend (and HAPI): widen by 10% of the distance to now.
        now = time.time_ns() // 1_000_000
        margin = max(abs(now - value.low), abs(now - value.high)) // 10
        return _all(_range(low, lte=value.high + margin), _range(high, gte=value.low - margin))
    return {
        "eq": contained,
        "ne": _not(contained),
        "gt": _range(high, gt=value.high),
        "lt": _range(low, lt=value.low),
        "ge": _all(_range(high, gte=value.low), _any([_range(high, gt=value.high), contained])),
        "le": _all(_range(low, lte=value.high), _any([_range(low, lt=value.low), contained])),
        "sa": _range(low, gt=value.high),
        "eb": _range(high, lt=value.low),
    }[value.prefix]


def _number_condition(field: str, value: NumberValue) -> dict:
    tenth = abs(value.value) / 10
    return {
        "eq": _range(field, gte=value.low, lt=value.high),
        "ne": _not(_range(field, gte=value.low, lt=value.high)),
        "gt": _range(field, gt=value.value),
        "lt": _range(field, lt=value.value),
        "ge": _range(field, gte=value.value),
        "le": _range(field, lte=value.value),
        "sa": _range(field, gt=value.value),
        "eb": _range(field, lt=value.value),
        "ap": _range(field, gte=value.value - tenth, lte=value.value + tenth),
    }[value.prefix]


def _number(fields: Fields, criterion: Criterion, value: NumberValue, _) -> dict:
    return _number_condition(fields["value"], value)


def _quantity(fields: Fields, criterion: Criterion, value: QuantityValue, _) -> dict:
    conditions = [_number_condition(fields["value"], value.number)]
    if value.system is not None:
        conditions.append(_term(fields["system"], value.system))
    if value.code is not None:
        conditions.append(_term(fields["code"], value.code) if value.system is not None
                          else _any([_term(fields["code"], value.code), _term(fields["unit"], value.code)]))
    return _all(*conditions)


def _reference(fields: Fields, criterion: Criterion, value: ReferenceValue, _) -> dict:
    if value.url is not None:
        return _term(fields["url"], value.url)
    conditions = [_term(fields["target_id"], value.target_id)]
    if value.target_type is not None:
        conditions.append(_term(fields["target_type"], value.target_type))
    return _all(*conditions)


def _uri(fields: Fields, criterion: Criterion, value: str, _) -> dict:
    if criterion.modifier == "below":
        return {"prefix": {fields["value"]: value}}
    if criterion.modifier == "above":  # the stored uri is the value or a prefix of it
        return {"terms": {fields["value"]: [value[:end] for end in range(1, len(value) + 1)]}}
    return _term(fields["value"], value)


def _composite(fields: Fields, criterion: Criterion, value: CompositeValue, terminology) -> dict:
    """Every component matches in the same value, each through its type's condition on its slot's fields."""
    return _all(*(CONDITIONS[kind](_slot(fields, number, kind), Criterion(criterion.code, kind, None, ()), part,
                                   terminology)
                  for number, (kind, part) in enumerate(value.parts, start=1)))


def _slot(fields: Fields, number: int, kind: str) -> Fields:
    return Fields(fields.path, {name: composite.column(number, physical)
                                for name, physical in composite.COLUMNS[kind].items()})


_LAST_UPDATED = Fields("", {"low": "last_updated", "high": "last_updated"})

CONDITIONS = {"token": _token, "string": _string, "date": _date, "number": _number, "quantity": _quantity,
              "reference": _reference, "uri": _uri, "composite": _composite}

Terminology = Callable[[str, object], dict[str, list[str]]]  # (modifier, value) -> codes per system
Resolve = Callable[[Node, str], dict]  # a chain or _has on ``resource_type`` -> a query on its ids


def compile_node(node: Node, resource_type: str, terminology: Terminology, resolve: Resolve) -> dict:
    """The query matching the ``resource_type`` documents that satisfy ``node``."""
    if isinstance(node, (Chain, Has)):
        return resolve(node, resource_type)
    if isinstance(node, AnyOf):
        return _any(compile_node(inner, resource_type, terminology, resolve) for inner in node.nodes)
    if isinstance(node, AllOf):
        return _all(*(compile_node(inner, resource_type, terminology, resolve) for inner in node.nodes))
    if isinstance(node, Every):
        return MATCH_ALL
    return _criterion(node, terminology)


def _criterion(criterion: Criterion, terminology: Terminology) -> dict:
    if criterion.kind in COLUMN_KINDS and criterion.modifier == "missing":  # every document has both
        return MATCH_NONE if criterion.missing else MATCH_ALL
    if criterion.kind == "id":
        return {"terms": {"id": list(criterion.values)}}
    if criterion.kind == "lastUpdated":  # the document's own field, an instant: both bounds of its range
        return _any(_date(_LAST_UPDATED, criterion, value, terminology) for value in criterion.values)
    if criterion.kind == "text":
        field = "narrative" if criterion.code == "_text" else "content"
        return _any({"match": {field: {"query": value, "operator": "and"}}} for value in criterion.values)
    path = f"p.{criterion.code}"
    if criterion.modifier == "missing":
        present = {"nested": {"path": path, "query": MATCH_ALL}}
        return _not(present) if criterion.missing else present
    negative = criterion.modifier in ("not", "not-in")
    modifier = "in" if criterion.modifier == "not-in" else None if criterion.modifier == "not" else criterion.modifier
    positive = Criterion(criterion.code, criterion.kind, modifier, criterion.values)
    fields = Fields(path)
    matched = {"nested": {"path": path, "query": _any(
        CONDITIONS[criterion.kind](fields, positive, value, terminology) for value in criterion.values)}}
    return _not(matched) if negative else matched
