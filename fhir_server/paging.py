"""Page size, keyset cursors and links of search and history Bundles (https://hl7.org/fhir/R4/http.html#paging).

Pages continue after the last entry seen (a cursor), never at an offset: a page costs the same
wherever it is, and a write between two pages does not shift entries into or out of the next one.
"""

from __future__ import annotations

import base64
import binascii
import json
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


def encode_cursor(values: list) -> str:
    """An opaque cursor for the values the next page continues after (sort values, then id)."""
    return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(raw: str | None, numeric: list[bool]) -> list | None:
    """The values a cursor holds: one per sort key (a number where ``numeric``, else text; None allowed),
    then the id. Anything else is a forged or foreign cursor: 400, before it can reach a typed column."""
    if raw is None:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        values = None
    if not (isinstance(values, list) and len(values) == len(numeric) + 1 and isinstance(values[-1], str)
            and all(value is None or _fits(value, is_number) for value, is_number in zip(values, numeric))):
        raise BadRequest(f"`{CURSOR}` is not a cursor this server gave out for this search.", expression=(CURSOR,))
    return values


def _fits(value, is_number: bool) -> bool:
    if is_number:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def links(request: FhirRequest, next_cursor: str | None, dropped: frozenset[str] = frozenset()) -> list[tuple[str, str]]:
    """``self`` with the parameters used, and ``next`` when there is another page."""
    kept = [(key, value) for key, value in request.params if key != CURSOR and key not in dropped]
    # POST [type]/_search pages on as GET [type]: the parameters travel in the link.
    base = f"{request.base_url}/{request.path.removesuffix('/_search')}".rstrip("/")
    result = [("self", _url(base, kept + ([(CURSOR, request.param(CURSOR))] if request.param(CURSOR) else [])))]
    if next_cursor is not None:
        result.append(("next", _url(base, kept + [(CURSOR, next_cursor)])))
    return result


def _url(base: str, params: list[tuple[str, str]]) -> str:
    return f"{base}?{urlencode(params)}" if params else base
