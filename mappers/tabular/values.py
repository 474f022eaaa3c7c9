"""The value types a spec's columns are read as, and how each turns the text of a cell into FHIR JSON.

A cell that cannot be read raises RecordError naming the column and the expected shape, so the reject
says what to fix: ``column `BIRTHDATE`: `2023-02-30` is not a date in the format `%Y-%m-%d```.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from mappers import numbers
from mappers.base import RecordError

_COMPARATOR = re.compile(r"^\s*(<=|>=|<|>)\s*")


@dataclass(frozen=True)
class ValueType:
    """What an element holds; ``coded`` elements take codings (a code column, a system, a display column)."""

    name: str
    coded: bool = False
    allowed: tuple[str, ...] = ()  # for codes: the FHIR value set, so a bad map is caught at the cell
    references: str | None = None  # for references: the kind of table whose key the column holds


TEXT = ValueType("text")
IDENTIFIER = ValueType("identifier")  # the cell is the value; the spec's `system` is the identifier's namespace
DATE = ValueType("date")
DATETIME = ValueType("dateTime")
DECIMAL = ValueType("decimal")
QUANTITY_VALUE = ValueType("quantity value")  # a decimal that may carry a comparator: `<0.1`
INTEGER = ValueType("integer")
UNIT = ValueType("unit")  # a Quantity's unit; with the spec's `system` (UCUM) the unit is also its code
RESULT = ValueType("result")  # a number (with an optional comparator) is a Quantity, anything else text
CODING = ValueType("coding", coded=True)
DIAGNOSIS = ValueType("diagnosis", coded=True)  # normalized through the terminology package


def code(*allowed: str) -> ValueType:
    return ValueType("code", allowed=allowed)


def reference(kind: str) -> ValueType:
    return ValueType("reference", references=kind)


def parse_date(text: str, format_: str | None, column: str) -> str:
    try:
        if format_ is None:
            return date.fromisoformat(text).isoformat()
        return datetime.strptime(text, format_).date().isoformat()
    except ValueError:
        raise RecordError(f"`{text}` is not a date in the format `{format_ or 'YYYY-MM-DD'}`", column) from None


def parse_datetime(text: str, format_: str | None, zone: ZoneInfo, column: str) -> str:
    """An ISO 8601 dateTime with an offset; a value without one is in the source's timezone. A date alone
    stays a date (FHIR dateTime allows it) rather than inventing midnight."""
    try:
        if format_ is None:
            if len(text) == 10:
                return date.fromisoformat(text).isoformat()
            moment = datetime.fromisoformat(text)
        else:
            moment = datetime.strptime(text, format_)
            if not any(directive in format_ for directive in ("%H", "%I", "%M", "%S", "%z")):
                return moment.date().isoformat()
    except ValueError:
        raise RecordError(f"`{text}` is not a date and time in the format `{format_ or 'ISO 8601'}`",
                          column) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if moment.year < 1:
        raise RecordError(f"`{text}` is out of range", column)
    stamp = moment.isoformat()
    return stamp[:-6] + "Z" if stamp.endswith("+00:00") else stamp


def parse_quantity_value(text: str, column: str) -> tuple[str | None, Decimal]:
    """(comparator, value): laboratories write results under the detection limit as `<0.1`."""
    match = _COMPARATOR.match(text)
    if match:
        return match.group(1), _required(text[match.end():], column)
    return None, _required(text, column)


def _required(text: str, column: str) -> Decimal:
    number = numbers.decimal(text, column)
    if number is None:
        raise RecordError(f"`{text}` is not a number", column)
    return number

