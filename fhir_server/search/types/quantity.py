"""quantity parameters (https://hl7.org/fhir/R4/search.html#quantity): ``[prefix]number|system|code``;
an empty system matches the code or the unit. Units are compared as written (no UCUM conversion)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from fhir_server.errors import BadRequest
from fhir_server.search.types.number import NumberValue, parse_number


@dataclass(frozen=True)
class QuantityValue:
    number: NumberValue
    system: str | None
    code: str | None


def index(item) -> list[dict]:
    value = item[0]
    if not isinstance(value, dict) or not isinstance(value.get("value"), (int, float, Decimal)) \
            or isinstance(value.get("value"), bool):
        return []
    return [{"value": float(value["value"]), "system": value.get("system"), "code": value.get("code"),
             "unit": value.get("unit")}]


def parse(raw: str, modifier: str | None, code: str) -> QuantityValue:
    if modifier is not None:
        raise BadRequest(f"Modifier `:{modifier}` is not supported for quantity parameter `{code}`.",
                         expression=(f"{code}:{modifier}",))
    parts = raw.split("|")
    if len(parts) not in (1, 3):
        raise BadRequest(f"`{code}={raw}` is not [prefix]number or [prefix]number|system|code.", expression=(code,))
    number = parse_number(parts[0], code)
    if len(parts) == 1:
        return QuantityValue(number, None, None)
    return QuantityValue(number, parts[1] or None, parts[2] or None)
