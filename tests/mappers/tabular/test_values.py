from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from mappers.base import RecordError
from mappers.tabular.values import parse_date, parse_datetime, parse_quantity_value

SEOUL = ZoneInfo("Asia/Seoul")


def test_dates_follow_the_spec_format():
    assert parse_date("20240229", "%Y%m%d", "생년월일") == "2024-02-29"
    assert parse_date("2024-02-29", None, "BIRTHDATE") == "2024-02-29"


@pytest.mark.parametrize("text", ["20230230", "2023-13-01", "19990000", "abc"])
def test_impossible_dates_are_rejected_naming_the_column_and_format(text):
    with pytest.raises(RecordError, match=f"`{text}` is not a date in the format `%Y%m%d`") as raised:
        parse_date(text, "%Y%m%d", "생년월일")
    assert raised.value.field == "생년월일"


def test_a_time_without_an_offset_is_in_the_source_timezone():
    assert parse_datetime("2024-03-05 09:30", "%Y-%m-%d %H:%M", SEOUL, "내원일시") == "2024-03-05T09:30:00+09:00"


def test_a_time_with_an_offset_keeps_it():
    assert parse_datetime("2023-01-27T16:17:47Z", None, SEOUL, "START") == "2023-01-27T16:17:47Z"
    assert parse_datetime("2023-01-27T16:17:47+01:00", None, SEOUL, "START") == "2023-01-27T16:17:47+01:00"


def test_a_date_in_a_datetime_column_stays_a_date():
    assert parse_datetime("20240305", "%Y%m%d", SEOUL, "진단일자") == "2024-03-05"
    assert parse_datetime("2024-03-05", None, SEOUL, "START") == "2024-03-05"


def test_daylight_saving_is_applied_by_the_zone():
    zone = ZoneInfo("America/New_York")
    assert parse_datetime("2024-07-01T12:00:00", None, zone, "t").endswith("-04:00")
    assert parse_datetime("2024-01-01T12:00:00", None, zone, "t").endswith("-05:00")


def test_impossible_times_are_rejected():
    with pytest.raises(RecordError, match="is not a date and time"):
        parse_datetime("2024-03-05 25:00", "%Y-%m-%d %H:%M", SEOUL, "내원일시")


def test_a_result_under_the_detection_limit_keeps_its_comparator():
    assert parse_quantity_value("<0.1", "결과") == ("<", Decimal("0.1"))
    assert parse_quantity_value(">= 300", "결과") == (">=", Decimal("300"))
    assert parse_quantity_value("12.0", "결과") == (None, Decimal("12.0"))



def test_a_comparator_without_a_number_is_not_a_result():
    with pytest.raises(RecordError, match="is not a number"):
        parse_quantity_value("<", "결과")
