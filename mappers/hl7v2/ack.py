"""Acknowledgments (original mode, https://v2plus.hl7.org/2021Jan/message-structure/ACK.html): AA when the
message's resources are committed, AE with the reason (MSA-3 and an ERR segment) when it was rejected, AR when
it could not be read at all."""

from __future__ import annotations

from datetime import datetime, timezone

from mappers.hl7v2.message import Message

START, END = b"\x0b", b"\x1c\r"  # MLLP framing


def ack(message: Message | None, code: str, reason: str = "", where: str | None = None,
        now: datetime | None = None) -> str:
    """The ACK message, as text with CR-ended segments."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d%H%M%S%z")
    header = message.header if message else None
    sender = (header.raw(5), header.raw(6)) if header else ("", "")
    receiver = (header.raw(3), header.raw(4)) if header else ("", "")
    control = message.control_id if message else ""
    version = (message.version if message else "") or "2.5.1"
    event = message.type.split("^")[1] if message else ""
    segments = [f"MSH|^~\\&|{sender[0]}|{sender[1]}|{receiver[0]}|{receiver[1]}|{stamp}||ACK^{event}^ACK|"
                f"ACK{control}|P|{version}", f"MSA|{code}|{control}|{_escape(reason)[:200]}"]
    if code != "AA":
        location = where.replace("-", "^") if where else ""
        segments.append(f"ERR||{location}|207^Application internal error^HL70357|E||||{_escape(reason)}")
    return "\r".join(segments) + "\r"


def frame(text: str) -> bytes:
    return START + text.encode("utf-8") + END


def _escape(text: str) -> str:
    return (text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("&", "\\T\\")
            .replace("~", "\\R\\").replace("\r", " ").replace("\n", " "))
