"""JSON in and out of the server, exact to FHIR's number rules.

FHIR decimals carry their precision (``1.50`` is not ``1.5``, https://hl7.org/fhir/R4/datatypes.html#decimal),
so bodies are parsed with Python decimals and written back digit for digit.
"""

from __future__ import annotations

import json
from decimal import Decimal

import orjson

from fhir_server.errors import BadRequest

_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=lambda name: _reject_constant(name))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse(body: bytes | str) -> object:
    """Parse a request body, answering malformed JSON with 400."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        return _decoder.decode(text)
    except UnicodeDecodeError:
        raise BadRequest("The request body is not UTF-8 encoded.") from None
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"The request body is not valid JSON: {error}") from None


def _default(value):
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dump(value: object) -> bytes:
    """Compact JSON bytes, as stored and served."""
    return orjson.dumps(value, default=_default)


def pretty(body: bytes) -> bytes:
    """Indented JSON for `_pretty=true`: the one read-path re-parse, asked for by the client."""
    return orjson.dumps(parse(body), default=_default, option=orjson.OPT_INDENT_2)
