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
