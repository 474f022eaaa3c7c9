"""Page size, keyset cursors and links of search and history Bundles (https://hl7.org/fhir/R4/http.html#paging).

Pages continue after the last entry seen (a cursor), never at an offset: a page costs the same
wherever it is, and a write between two pages does not shift entries into or out of the next one.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from urllib.parse import urlencode

from fhir_server.errors import BadRequest
from fhir_server.pipeline import FhirRequest
from fhir_server.settings import Settings

CURSOR = "_cursor"


def page_size(request: FhirRequest, settings: Settings) -> int:
    raw = request.param("_count")
    if raw is None:
        return settings.default_page_size
    if not raw.isdigit():
        raise BadRequest(f"`_count={raw}` is not a whole number of entries.", expression=("_count",))
    return min(int(raw), settings.max_page_size)


def cursor(request: FhirRequest) -> str | None:
    return request.param(CURSOR)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: just after (or, for a ``previous`` link, just before) the entry whose
    sort values, then id, are ``values``."""

    values: list
    backward: bool = False


def encode_cursor(values: list, backward: bool = False) -> str:
    """An opaque cursor for the page after (``backward``: before) the entry with these sort values and id."""
    payload = {"before" if backward else "after": values}
    return base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None, numeric: list[bool]) -> Cursor | None:
    """The cursor's values: one per sort key (a number where ``numeric``, else text; None allowed),
    then the id. Anything else is a forged or foreign cursor: 400, before it can reach a typed column."""
    if raw is None:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        payload = None
    direction = next(iter(payload), None) if isinstance(payload, dict) and len(payload) == 1 else None
    values = payload[direction] if direction in ("after", "before") else None
    if not (isinstance(values, list) and len(values) == len(numeric) + 1 and isinstance(values[-1], str)
            and all(value is None or _fits(value, is_number) for value, is_number in zip(values, numeric))):
        raise BadRequest(f"`{CURSOR}` is not a cursor this server gave out for this search.", expression=(CURSOR,))
    return Cursor(values, backward=direction == "before")


def _fits(value, is_number: bool) -> bool:
    if is_number:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def links(request: FhirRequest, next_cursor: str | None, dropped: frozenset[str] = frozenset(),
          previous_cursor: str | None = None) -> list[tuple[str, str]]:
    """``self`` with the parameters used, ``next`` when there is another page, ``previous`` when there was one."""
    kept = [(key, value) for key, value in request.params if key != CURSOR and key not in dropped]
    # POST [type]/_search pages on as GET [type]: the parameters travel in the link.
    base = f"{request.base_url}/{request.path.removesuffix('/_search')}".rstrip("/")
    result = [("self", _url(base, kept + ([(CURSOR, request.param(CURSOR))] if request.param(CURSOR) else [])))]
    if next_cursor is not None:
        result.append(("next", _url(base, kept + [(CURSOR, next_cursor)])))
    if previous_cursor is not None:
        result.append(("previous", _url(base, kept + [(CURSOR, previous_cursor)])))
    return result


def _url(base: str, params: list[tuple[str, str]]) -> str:
    return f"{base}?{urlencode(params)}" if params else base
