"""FHIR instants (https://hl7.org/fhir/R4/datatypes.html#instant) and HTTP dates for stored timestamps."""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime, parsedate_to_datetime


def format_instant(milliseconds: int) -> str:
    """E.g. 2026-11-22T11:01:25.123Z."""
    return _second(milliseconds // 1000) + f"{milliseconds % 1000:03d}Z"


@functools.lru_cache(maxsize=1024)  # a bulk load writes hundreds of resources a second
def _second(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")


@functools.lru_cache(maxsize=1024)
def _http_date(seconds: int) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, tz=timezone.utc), usegmt=True)


def format_http_date(milliseconds: int) -> str:
    return _http_date(milliseconds // 1000)


def parse_http_date(value: str) -> int | None:
    """Milliseconds of an HTTP-date, or None if it is not one."""
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp() * 1000)


_INSTANT = re.compile(
    r"(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
    r"(T(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(?P<fraction>\.\d+)?)?"
    r"(?P<zone>Z|[+-]\d{2}:\d{2}))?)?)?"
)


def parse_fhir_instant(value: str) -> int | None:
    """Milliseconds of the start of a FHIR date, dateTime or instant (as `_since` takes), or None."""
    match = _INSTANT.fullmatch(value.strip())
    if not match:
        return None
    parts = match.groupdict()
    try:
        moment = datetime(
            int(parts["year"]), int(parts["month"] or 1), int(parts["day"] or 1),
            int(parts["hour"] or 0), int(parts["minute"] or 0), int(parts["second"] or 0),
            int(float(parts["fraction"] or 0) * 1_000_000),
            tzinfo=_zone(parts["zone"]),
        )
    except ValueError:
        return None
    return int(moment.timestamp() * 1000)


def _zone(zone: str | None):
    if zone in (None, "Z"):
        return timezone.utc
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = zone[1:].split(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes)))
