"""HL7 v2 messages in their pipe-and-hat (ER7) encoding: segments split by carriage returns, fields by
``|``, repetitions by ``~``, components by ``^``, subcomponents by ``&``, with the escape sequences of
section 2.7 undone. The delimiters are the ones MSH-1 and MSH-2 declare.

Written here rather than taken from python-hl7 or hl7apy: a bad message must be reported with its segment
and field, and the next one read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from mappers.base import RecordError

_FRAME = str.maketrans("", "", "\x0b\x1c")  # MLLP start and end bytes, when a file keeps them


@dataclass(frozen=True)
class Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"


class Segment:
    def __init__(self, text: str, delimiters: Delimiters):
        self.delimiters = delimiters
        self.name = text[:3]
        fields = text.split(delimiters.field)
        # MSH-1 is the field separator itself, so MSH's fields are shifted by one.
        self._fields = [self.name, delimiters.field, *fields[1:]] if self.name == "MSH" else fields

    def __repr__(self) -> str:
        return f"Segment({self.name})"

    def raw(self, number: int) -> str:
        return self._fields[number] if number < len(self._fields) else ""

    def repetitions(self, number: int) -> list[list[str]]:
        """The field's repetitions, each a list of unescaped components."""
        if self.name == "MSH" and number in (1, 2):
            return [[self.raw(number)]]
        text = self.raw(number)
        if not text:
            return []
        return [[self.unescape(component) for component in repetition.split(self.delimiters.component)]
                for repetition in text.split(self.delimiters.repetition) if repetition]

    def components(self, number: int) -> list[str]:
        """The first repetition's components (empty list for an empty field)."""
        found = self.repetitions(number)
        return found[0] if found else []

    def value(self, number: int, component: int = 1) -> str:
        """One component of the first repetition, unescaped; '' when absent."""
        if self.name == "MSH" and number in (1, 2):
            return self.raw(number)
        parts = self.components(number)
        part = parts[component - 1] if component - 1 < len(parts) else ""
        return part.split(self.delimiters.subcomponent)[0] if self.delimiters.subcomponent in part else part

    def unescape(self, text: str) -> str:
        escape = self.delimiters.escape
        if escape not in text:
            return text
        replacements = {"F": self.delimiters.field, "S": self.delimiters.component, "T": self.delimiters.subcomponent,
                        "R": self.delimiters.repetition, "E": escape, ".br": "\n"}
        pattern = re.escape(escape) + r"([^" + re.escape(escape) + r"]*)" + re.escape(escape)

        def replace(match: re.Match) -> str:
            code = match.group(1)
            if code in replacements:
                return replacements[code]
            if code.startswith("X") and len(code) > 1:
                try:
                    return bytes.fromhex(code[1:]).decode("utf-8", errors="replace")
                except ValueError:
                    return match.group(0)
            return ""  # formatting codes (\H\, \N\, ...) carry no text

        return re.sub(pattern, replace, text)


class Message:
    def __init__(self, text: str):
        text = text.translate(_FRAME).strip("\r\n ")
        if not text.startswith("MSH") or len(text) < 8:
            raise RecordError("a message starts with an MSH segment", "MSH")
        separator = text[3]
        encoding = text[4:8]
        if len(set(encoding + separator)) != 5:
            raise RecordError(f"MSH-2 `{encoding}` does not declare four distinct encoding characters", "MSH-2")
        self.delimiters = Delimiters(separator, encoding[0], encoding[1], encoding[2], encoding[3])
        lines = [line for line in re.split(r"\r\n|\r|\n", text) if line.strip()]
        self.segments = [Segment(line, self.delimiters) for line in lines]
        for segment in self.segments:
            if not re.fullmatch(r"[A-Z][A-Z0-9]{2}", segment.name):
                raise RecordError(f"`{segment.name}` is not a segment name", segment.name)
        self.header = self.segments[0]

    @property
    def type(self) -> str:
        """Message code and trigger event, e.g. ``ADT^A01``."""
        return f"{self.header.value(9, 1)}^{self.header.value(9, 2)}"

    @property
    def control_id(self) -> str:
        return self.header.value(10)

    @property
    def version(self) -> str:
        return self.header.value(12)

    def first(self, name: str) -> Segment | None:
        return next((segment for segment in self.segments if segment.name == name), None)

    def all(self, name: str) -> list[Segment]:
        return [segment for segment in self.segments if segment.name == name]

    def require(self, name: str) -> Segment:
        found = self.first(name)
        if found is None:
            raise RecordError(f"a {self.type} message needs a {name} segment", name)
        return found


def split(text: str) -> Iterator[tuple[int, str]]:
    """(line of its MSH, text) for each message of a file: one or many, with or without batch headers
    (FHS, BHS, BTS, FTS) or MLLP framing, with segments ended by CR, LF or CRLF."""
    current: list[str] = []
    start = 0
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        stripped = line.translate(_FRAME).strip()
        if not stripped:
            continue
        if stripped[:3] in ("FHS", "BHS", "BTS", "FTS"):
            continue
        if stripped.startswith("MSH"):
            if current:
                yield start, "\r".join(current)
            current, start = [stripped], number
        elif current:
            current.append(stripped)
        else:
            current, start = [stripped], number  # text before the first MSH: reported as a bad message
    if current:
        yield start, "\r".join(current)
