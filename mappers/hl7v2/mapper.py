"""HL7 v2 messages to FHIR: one record per message (``Source(file, line of its MSH, "TYPE control-id")``),
mapped whole or rejected whole with the segment and field at fault."""

from __future__ import annotations

from typing import Iterator
from zoneinfo import ZoneInfo

from terminology.normalize import Normalizer

from mappers.base import Mapped, Rejected, Result, Source
from mappers.hl7v2 import segments
from mappers.hl7v2.message import Message, split
from mappers.hl7v2.messages import adt, orm_o01, oru_r01, vxu_v04
from mappers.base import RecordError

SUPPORTED = {**{f"ADT^{event}": adt for event in adt.EVENTS}, "ORU^R01": oru_r01, "ORM^O01": orm_o01,
             "VXU^V04": vxu_v04}
VERSIONS = ("2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2")


class Hl7Mapper:
    def __init__(self, normalizer: Normalizer, source_system: str, timezone: str = "Asia/Seoul"):
        self.context = segments.Context(source_system, ZoneInfo(timezone), normalizer)

    def map_text(self, text: str, name: str) -> Iterator[Result]:
        for line, message_text in split(text):
            yield self.map_one(message_text, Source(name, line))

    def map_bytes(self, data: bytes, name: str, encoding: str) -> Iterator[Result]:
        """Messages of a file in ``encoding``; a message with bytes that are not is rejected, the others read."""
        for line, message_text in split(data.decode(encoding, errors="surrogateescape")):
            bad = next((character for character in message_text if "\udc80" <= character <= "\udcff"), None)
            if bad is not None:
                yield Rejected(Source(name, line), f"the message is not valid {encoding} (byte "
                                                   f"{ord(bad) - 0xDC00:#04x}); check the encoding (MSH-18)")
                continue
            yield self.map_one(message_text, Source(name, line))

    def map_one(self, text: str, source: Source) -> Result:
        try:
            message = Message(text)
        except RecordError as error:
            return Rejected(source, error.reason, error.field)
        return self.map_message(message, source)

    def map_message(self, message: Message, source: Source) -> Result:
        source = Source(source.file, source.line, f"{message.type} {message.control_id}".strip())
        try:
            if message.version and message.version not in VERSIONS:
                raise RecordError(f"version `{message.version}` is not one of 2.3 to 2.8", "MSH-12")
            module = SUPPORTED.get(message.type)
            if module is None:
                raise RecordError(f"message type `{message.type}` is not supported (ADT A01, A02, A03, A04, A08, "
                                   "A11, A13, A28, A31, A40, ORU^R01, ORM^O01, VXU^V04 are)", "MSH-9")
            resources = module.map_message(message, self.context)
        except RecordError as error:
            return Rejected(source, error.reason, error.field)
        if module is adt:
            return Mapped(source, resources)
        # Order, result and vaccination messages carry a short PID: it creates a missing patient but must not
        # replace the demographics an ADT message stored.
        return Mapped(source, resources[1:], if_absent=resources[:1])
