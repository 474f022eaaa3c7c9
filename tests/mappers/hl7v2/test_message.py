from zoneinfo import ZoneInfo

import pytest

from mappers.base import RecordError
from mappers.hl7v2 import datatypes
from mappers.hl7v2.message import Message, split

SEOUL = ZoneInfo("Asia/Seoul")


def test_fields_components_repetitions_and_escapes():
    message = Message("MSH|^~\\&|A|B|C|D|20240305||ADT^A01^ADT_A01|42|P|2.5.1\r"
                      "PID|1||1^^^H^MR~2^^^K^NI||Kim^Seo\\S\\Yeon||||||Line\\F\\1\\.br\\Line 2")
    pid = message.first("PID")
    assert (message.type, message.control_id, message.version) == ("ADT^A01", "42", "2.5.1")
    assert pid.repetitions(3) == [["1", "", "", "H", "MR"], ["2", "", "", "K", "NI"]]
    assert pid.components(5) == ["Kim", "Seo^Yeon"]
    assert pid.value(11) == "Line|1\nLine 2"
    assert message.header.value(2) == "^~\\&" and message.header.value(3) == "A"


def test_declared_delimiters_are_used():
    message = Message("MSH#$%@*#A#B#C#D#20240305##ADT$A01#1#P#2.5\rPID#1##7$$$H##Park$Ha")
    assert message.type == "ADT^A01" and message.first("PID").components(5) == ["Park", "Ha"]


def test_a_file_splits_into_messages_with_their_lines_despite_batches_framing_and_line_ends():
    text = ("FHS|^~\\&\nBHS|^~\\&\n\x0bMSH|^~\\&|A|B|||20240305||ADT^A01|1|P|2.5\rPID|1\x1c\r\n"
            "MSH|^~\\&|A|B|||20240305||ADT^A08|2|P|2.5\nPID|1\nBTS|2\nFTS|1\n")
    assert [(line, Message(body).control_id) for line, body in split(text)] == [(3, "1"), (5, "2")]


@pytest.mark.parametrize("text, where", [
    ("PID|1", "MSH"), ("MSH|^^^^|x", "MSH-2"), ("MSH|^~\\&|A\rpid|1", "pid"),
])
def test_what_is_not_a_message_is_refused_with_where(text, where):
    with pytest.raises(RecordError) as raised:
        Message(text)
    assert raised.value.field == where


@pytest.mark.parametrize("text, expected", [
    ("2024", "2024"), ("202403", "2024-03"), ("20240305", "2024-03-05"),
    ("202403050930", "2024-03-05T09:30:00+09:00"), ("20240305093015.123-0500", "2024-03-05T09:30:15-05:00"),
])
def test_dtm_keeps_its_precision_and_offset(text, expected):
    assert datatypes.date_time(text, SEOUL, "X-1") == expected


@pytest.mark.parametrize("text", ["20240230", "2024-03-05", "20241301120000"])
def test_impossible_dtm_is_refused(text):
    with pytest.raises(RecordError):
        datatypes.date_time(text, SEOUL, "PID-7")
