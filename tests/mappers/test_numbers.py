from decimal import Decimal

import pytest

from mappers.base import RecordError
from mappers.numbers import decimal, whole


def test_decimals_keep_their_precision_and_accept_thousands_separators():
    assert str(decimal("1.50", "x")) == "1.50"
    assert decimal(" 1,234.5 ", "x") == Decimal("1234.5")
    assert decimal("", "x") is None and decimal(None, "x") is None


@pytest.mark.parametrize("text", ["1,2", "NaN", "Infinity", "12a"])
def test_what_is_not_a_finite_number_is_rejected_naming_the_field(text):
    with pytest.raises(RecordError, match="is not a number") as raised:
        decimal(text, "value_as_number")
    assert raised.value.field == "value_as_number"


def test_whole_numbers():
    assert whole("3", "x") == 3 and whole("", "x") is None
    with pytest.raises(RecordError, match="not a whole number"):
        whole("1.5", "x")
