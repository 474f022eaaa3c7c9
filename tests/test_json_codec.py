"""JSON in and out, exact to FHIR decimals: https://hl7.org/fhir/R4/datatypes.html#decimal"""

import pytest

from fhir_server import json_codec
from fhir_server.errors import BadRequest


@pytest.mark.parametrize("number", ["1.50", "0.000", "-0.0", "1E+400", "123456789012345678901234567890.123456789"])
def test_decimals_keep_every_digit(number):
    assert json_codec.dump(json_codec.parse(f'{{"value":{number}}}')) == f'{{"value":{number}}}'.encode()


def test_integers_stay_integers():
    assert json_codec.dump(json_codec.parse('{"count":12}')) == b'{"count":12}'


@pytest.mark.parametrize("text", ['{"a":NaN}', '{"a":Infinity}', "{", '{"a":1}x', b"\xff"])
def test_invalid_json_is_a_bad_request(text):
    with pytest.raises(BadRequest):
        json_codec.parse(text)


def test_non_ascii_is_written_as_utf8():
    assert json_codec.dump({"name": "김민준"}) == '{"name":"김민준"}'.encode()


def _nested(levels: int) -> str:
    """JSON text ``levels`` deep: objects and arrays alternating, a string at the bottom."""
    inner_first = range(levels)
    opening = "".join('{"a":' if level % 2 == 0 else "[" for level in reversed(inner_first))
    closing = "".join("}" if level % 2 == 0 else "]" for level in inner_first)
    return opening + '"[[[{{{"' + closing  # brackets inside a string are not nesting


def test_nesting_up_to_the_limit_is_accepted():
    value = json_codec.parse(_nested(json_codec.MAX_DEPTH))
    depth = 0
    while not isinstance(value, str):
        value = value["a"] if isinstance(value, dict) else value[0]
        depth += 1
    assert depth == json_codec.MAX_DEPTH


@pytest.mark.parametrize("levels", [json_codec.MAX_DEPTH + 1, 5_000, 200_000])
def test_nesting_beyond_the_limit_is_a_bad_request_that_says_so(levels):
    with pytest.raises(BadRequest, match=f"more than {json_codec.MAX_DEPTH} levels deep"):
        json_codec.parse(_nested(levels))


def test_many_brackets_at_a_shallow_depth_are_accepted():
    body = '{"entry":[' + ",".join(['{"resource":{"code":{"coding":[{"code":"[x]"}]}}}'] * 500) + "]}"
    assert len(json_codec.parse(body)["entry"]) == 500
