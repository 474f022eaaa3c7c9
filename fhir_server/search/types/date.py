"""date parameters (https://hl7.org/fhir/R4/search.html#date): every value is a range, from its
precision (2020 is all of that year) or from a Period; the nine prefixes compare ranges.

Times are milliseconds since the Unix epoch; a date or dateTime without a zone is taken as UTC,
the same for stored values and search values, so that date-only values compare day by day.
"""

from __future__ import annotations

import calendar
import functools
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fhir_server.errors import BadRequest

PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")
LOWEST, HIGHEST = -(2 ** 62), 2 ** 62
_DATE = re.compile(
    r"(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<hour>\d{2})(:(?P<minute>\d{2})(:(?P<second>\d{2})(?P<fraction>\.\d+)?)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2})?)?)?)?"
)


@dataclass(frozen=True)
class DateValue:
    prefix: str
    low: int
    high: int  # inclusive, in milliseconds


@functools.lru_cache(maxsize=65_536)  # dates repeat: birth dates, a visit's dates, a batch's lastUpdated
def date_range(text: str) -> tuple[int, int] | None:
    """The [low, high] milliseconds a FHIR date, dateTime or instant stands for, or None if invalid."""
    match = _DATE.fullmatch(text.strip())
    if not match:
        return None
    parts = match.groupdict()
    try:
        zone = _zone(parts["zone"])  # raises for an offset of a day or more
        year = int(parts["year"])
        if parts["month"] is None:
            start, end = datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
        elif parts["day"] is None:
            month = int(parts["month"])
            start = datetime(year, month, 1, tzinfo=zone)
            end = start + timedelta(days=calendar.monthrange(year, month)[1])
        elif parts["hour"] is None:
            start = datetime(year, int(parts["month"]), int(parts["day"]), tzinfo=zone)
            end = start + timedelta(days=1)
        else:
            start = datetime(year, int(parts["month"]), int(parts["day"]), int(parts["hour"]),
                             int(parts["minute"] or 0), int(parts["second"] or 0),
                             int(float(parts["fraction"] or 0) * 1_000_000), tzinfo=zone)
            precision = (timedelta(milliseconds=1) if parts["fraction"] else timedelta(seconds=1)
                         if parts["second"] else timedelta(minutes=1))
            end = start + precision
    except (ValueError, OverflowError):
        return None
    return _milliseconds(start), _milliseconds(end) - 1


def _milliseconds(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _zone(text: str | None):
    if text in (None, "Z"):
        return timezone.utc
    sign = 1 if text[0] == "+" else -1
    return timezone(sign * timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))


def ranges_of(value: object) -> list[tuple[int, int]]:
    """Ranges of a date/dateTime/instant string, a Period, or a Timing's events."""
    if isinstance(value, str):
        found = date_range(value)
        return [found] if found else []
    if isinstance(value, dict):
        if "start" in value or "end" in value:
            start = date_range(value["start"]) if isinstance(value.get("start"), str) else None
            end = date_range(value["end"]) if isinstance(value.get("end"), str) else None
            return [(start[0] if start else LOWEST, end[1] if end else HIGHEST)]
        if "event" in value:
            return [found for event in value["event"] for found in ranges_of(event)]
    return []


def index(item) -> list[dict]:
    return [{"low": low, "high": high} for low, high in ranges_of(item[0])]


def parse(raw: str, modifier: str | None, code: str) -> DateValue:
    if modifier is not None:
        raise BadRequest(f"Modifier `:{modifier}` is not supported for date parameter `{code}`.",
                         expression=(f"{code}:{modifier}",))
    prefix, text = (raw[:2], raw[2:]) if raw[:2] in PREFIXES else ("eq", raw)
    found = date_range(text)
    if found is None:
        raise BadRequest(f"`{code}={raw}` is not a date: use [prefix]YYYY[-MM[-DD[Thh:mm[:ss][zone]]]], "
                         f"prefixes {', '.join(PREFIXES)}.", expression=(code,))
    return DateValue(prefix, *found)
