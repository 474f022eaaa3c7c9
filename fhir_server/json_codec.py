"""JSON in and out of the server, exact to FHIR's number rules.

FHIR decimals carry their precision (``1.50`` is not ``1.5``, https://hl7.org/fhir/R4/datatypes.html#decimal),
so bodies are parsed with Python decimals and written back digit for digit.
"""

from __future__ import annotations

import json
from decimal import Decimal

import orjson

from fhir_server.errors import BadRequest

# Deepest nesting of arrays and objects accepted. FHIR resources nest a few dozen levels at most (a Questionnaire's
# items, extensions of extensions, a Bundle in a Bundle); far deeper bodies only exhaust the validator's recursion.
MAX_DEPTH = 100

_decoder = json.JSONDecoder(parse_float=Decimal, parse_constant=lambda name: _reject_constant(name))


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def parse(body: bytes | str) -> object:
    """Parse a request body, answering malformed JSON with 400."""
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
        parsed = _decoder.decode(text)
    except UnicodeDecodeError:
        raise BadRequest("The request body is not UTF-8 encoded.") from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError as error:
        raise BadRequest(f"The request body is not valid JSON: {error}") from None
    if text.count("{") + text.count("[") > MAX_DEPTH and _deeper_than(parsed, MAX_DEPTH):  # the count is cheap
        raise _too_deep()
    return parsed


def _too_deep() -> BadRequest:
    return BadRequest(f"The request body nests arrays and objects more than {MAX_DEPTH} levels deep.")


def _deeper_than(value: dict | list, depth: int) -> bool:
    """Whether ``value``, itself the first level, nests arrays and objects more than ``depth`` levels deep; the
    recursion goes no deeper than ``depth``."""
    if depth == 0:
        return True
    for item in value.values() if type(value) is dict else value:
        if type(item) in (dict, list) and _deeper_than(item, depth - 1):
            return True
    return False


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
