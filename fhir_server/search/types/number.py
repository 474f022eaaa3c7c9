"""number parameters (https://hl7.org/fhir/R4/search.html#number): the search value's precision
implies a range (100 is [99.5, 100.5)), compared with the nine prefixes."""

from __future__ import annotations

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
    return NumberValue(prefix, float(number), float(number - half), float(number + half))


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
