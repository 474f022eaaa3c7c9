"""Numbers in source records, kept as FHIR decimals keep them: the digits as written, never a float
(https://hl7.org/fhir/R4/datatypes.html#decimal). Shared by every mapper."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from mappers.base import RecordError

_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+(\.\d+)?")


def decimal(text: str | None, field: str) -> Decimal | None:
    """None for an empty cell; `1,234.5` reads as 1234.5 (EMR exports write thousands separators)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        number = Decimal(text.replace(",", "") if _THOUSANDS.fullmatch(text) else text)
    except InvalidOperation:
        raise RecordError(f"`{text}` is not a number", field) from None
    if not number.is_finite():
        raise RecordError(f"`{text}` is not a number", field)
    return number


def whole(text: str | None, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise RecordError(f"`{text}` is not a whole number", field) from None
