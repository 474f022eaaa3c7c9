"""number parameters (https://hl7.org/fhir/R4/search.html#number): the search value's precision
implies a range (100 is [99.5, 100.5)), compared with the nine prefixes. Values are compared as
IEEE doubles, exact to about 15 significant digits."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from fhir_server.errors import BadRequest

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


@dataclass(frozen=True)
class NumberValue:
    prefix: str
    value: float
    low: float  # inclusive
    high: float  # exclusive


def parse_number(raw: str, code: str) -> NumberValue:
    prefix, text = (raw[:2], raw[2:]) if raw[:2] in PREFIXES else ("eq", raw)
    try:
        number = Decimal(text)
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        raise BadRequest(f"`{code}={raw}` is not a number with an optional prefix ({', '.join(PREFIXES)}).",
                         expression=(code,)) from None
    half = Decimal(1).scaleb(number.as_tuple().exponent) / 2
    value = float(number)
    # Index values are doubles: past about 15 significant digits the implied range can collapse onto
    # the value's own double, which must still match itself.
    low = min(float(number - half), value)
    high = max(float(number + half), math.nextafter(value, math.inf))
    return NumberValue(prefix, value, low, high)


def numbers_of(value: object) -> list[float]:
    if isinstance(value, bool):
        return []
    if isinstance(value, (int, float, Decimal)):
        return [float(value)]
    if isinstance(value, dict) and isinstance(value.get("value"), (int, float, Decimal)):
        return [float(value["value"])]
    return []


def index(item) -> list[dict]:
    return [{"value": number} for number in numbers_of(item[0])]


def parse(raw: str, modifier: str | None, code: str) -> NumberValue:
    if modifier is not None:
        raise BadRequest(f"Modifier `:{modifier}` is not supported for number parameter `{code}`.",
                         expression=(f"{code}:{modifier}",))
    return parse_number(raw, code)
