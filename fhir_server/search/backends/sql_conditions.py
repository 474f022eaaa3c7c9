"""SQL conditions on one index table's row for each search parameter type, after search.html's rules
for its prefixes and modifiers (https://hl7.org/fhir/R4/search.html)."""

from __future__ import annotations

import time
from types import SimpleNamespace

from sqlalchemy import and_, func, literal, not_, or_

from fhir_server.search.backends import sql_terminology
from fhir_server.search.query import Criterion
from fhir_server.search.types import composite
from fhir_server.search.types.composite import CompositeValue
from fhir_server.search.types.date import DateValue
from fhir_server.search.types.number import NumberValue
from fhir_server.search.types.quantity import QuantityValue
from fhir_server.search.types.reference import ReferenceValue
from fhir_server.search.types.string import normalize


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _string(table, criterion: Criterion, value: str):
    if criterion.modifier == "exact":
        return table.c.exact == value
    pattern = _like_escape(normalize(value))
    pattern = f"%{pattern}%" if criterion.modifier == "contains" else f"{pattern}%"
    return table.c.value.like(pattern, escape="\\")


def _token(table, criterion: Criterion, value):
    if criterion.modifier == "text":
        return table.c.text.like(f"{_like_escape(normalize(value))}%", escape="\\")
    if criterion.modifier in sql_terminology.CONDITIONS:
        return sql_terminology.CONDITIONS[criterion.modifier](table, value)
    conditions = []
    if value.code is not None:
        conditions.append(table.c.code == value.code)
    if not value.any_system:
        conditions.append(table.c.system.is_(None) if value.system is None else table.c.system == value.system)
    return and_(*conditions)


def _date(table, criterion: Criterion, value: DateValue):
    low, high = table.c.low, table.c.high
    contained = and_(low >= value.low, high <= value.high)
    return {
        "eq": contained,
        "ne": not_(contained),
        "gt": high > value.high,
        "lt": low < value.low,
        # low <= high, so each of these implies the bound before it, which lets an index range scan start there.
        "ge": and_(high >= value.low, or_(high > value.high, contained)),
        "le": and_(low <= value.high, or_(low < value.low, contained)),
        "sa": low > value.high,
        "eb": high < value.low,
        "ap": _approximately(low, high, value.low, value.high, now=time.time_ns() // 1_000_000),
    }[value.prefix]


def _approximately(low, high, query_low, query_high, now):
    # search.html leaves "approximately" to the server; like HAPI, widen by 10% of the distance to now.
    margin = max(abs(now - query_low), abs(now - query_high)) // 10
    return and_(low <= query_high + margin, high >= query_low - margin)


def _number_condition(column, value: NumberValue):
    return {
        "eq": and_(column >= value.low, column < value.high),
        "ne": or_(column < value.low, column >= value.high),
        "gt": column > value.value,
        "lt": column < value.value,
        "ge": column >= value.value,
        "le": column <= value.value,
        "sa": column > value.value,
        "eb": column < value.value,
        "ap": and_(column >= value.value - abs(value.value) / 10, column <= value.value + abs(value.value) / 10),
    }[value.prefix]


def _number(table, criterion: Criterion, value: NumberValue):
    return _number_condition(table.c.value, value)


def _quantity(table, criterion: Criterion, value: QuantityValue):
    conditions = [_number_condition(table.c.value, value.number)]
    if value.system is not None:
        conditions.append(table.c.system == value.system)
    if value.code is not None:
        conditions.append(table.c.code == value.code if value.system is not None
                          else or_(table.c.code == value.code, table.c.unit == value.code))
    return and_(*conditions)


def _reference(table, criterion: Criterion, value: ReferenceValue):
    if value.url is not None:
        return table.c.url == value.url
    conditions = [table.c.target_id == value.target_id]
    if value.target_type is not None:
        conditions.append(table.c.target_type == value.target_type)
    return and_(*conditions)


def _uri(table, criterion: Criterion, value: str):
    if criterion.modifier == "below":
        return table.c.value.like(f"{_like_escape(value)}%", escape="\\")
    if criterion.modifier == "above":
        return func.substr(literal(value), 1, func.length(table.c.value)) == table.c.value
    return table.c.value == value


def _composite(table, criterion: Criterion, value: CompositeValue):
    """Every component matches in the same row, each through its type's condition on its slot's columns."""
    return and_(*(CONDITIONS[kind](_slot(table, number, kind), Criterion(criterion.code, kind, None, ()), part)
                  for number, (kind, part) in enumerate(value.parts, start=1)))


def _slot(table, number: int, kind: str) -> SimpleNamespace:
    """The columns of one composite slot under the names ``kind``'s condition expects (``table.c.code``)."""
    return SimpleNamespace(c=SimpleNamespace(**{name: table.c[composite.column(number, physical)]
                                                for name, physical in composite.COLUMNS[kind].items()}))


CONDITIONS = {"token": _token, "string": _string, "date": _date, "number": _number, "quantity": _quantity,
               "reference": _reference, "uri": _uri, "composite": _composite}
