"""Rows of a CSV or TSV file as the spec declares it: decoded line by line in the declared encoding, so a
line that is not (a stray CP949 line in a UTF-8 file) is rejected with its number instead of stopping the
file, and rows whose field count differs from the header's (a truncated file) are rejected too.
"""

from __future__ import annotations

import csv
from collections import deque
from pathlib import Path
from typing import Iterator

from mappers.base import Rejected, Source


class SourceError(ValueError):
    """The file cannot be read at all: missing, empty, or without a header line."""


def delimiter_for(path: Path, declared: str | None) -> str:
    return declared or ("\t" if path.suffix.lower() in (".tsv", ".tab") else ",")


def read_rows(path: Path, name: str, encoding: str, delimiter: str) -> Iterator[tuple[Source, dict] | Rejected]:
    """(source, row by header name) for each data row, or a Rejected for a row that cannot be read."""
    try:
        handle = path.open("rb")
    except OSError as error:
        raise SourceError(f"{name}: cannot open: {error.strerror or error}") from None
    with handle:
        lines = _Lines(handle, name, encoding)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        try:
            header = [column.strip() for column in next(reader)]
        except StopIteration:
            if lines.header_unreadable:
                yield from _unreadable_header(handle, name, encoding)
                return
            raise SourceError(f"{name}: the file is empty; a header line naming the columns is expected") from None
        except csv.Error as error:
            raise SourceError(f"{name}: the header line cannot be read: {error}") from None
        if lines.header_unreadable:
            yield from _unreadable_header(handle, name, encoding)
            return
        if header and header[0].startswith("\ufeff"):
            header[0] = header[0][1:]
        while True:
            lines.start_row()
            try:
                row = next(reader)
            except StopIteration:
                yield from lines.drain()
                return
            except csv.Error as error:
                yield from lines.drain()
                yield Rejected(Source(name, lines.row_line), f"malformed CSV: {error}; is a quote left open?")
                continue
            yield from lines.drain()
            if not any(row):
                continue  # a blank line is not a record
            if len(row) != len(header):
                hint = " (the file may be truncated)" if lines.at_end and len(row) < len(header) else ""
                yield Rejected(Source(name, lines.row_line),
                               f"the row has {len(row)} fields, the header {len(header)}{hint}")
                continue
            yield Source(name, lines.row_line), dict(zip(header, row))


def _unreadable_header(handle, name: str, encoding: str) -> Iterator[Rejected]:
    """Without its header no row of the file can be read: each is rejected, saying why."""
    handle.seek(0)
    for number, raw in enumerate(handle, start=1):
        if number > 1 and raw.strip():
            yield Rejected(Source(name, number), f"the header line of {name} is not valid {encoding}, so no row can "
                                                 "be read; check the spec's `encoding` (Korean systems often write "
                                                 "cp949, newer ones utf-8)")


class _Lines:
    """Decoded lines for the csv module; lines that do not decode are held back as rejects."""

    def __init__(self, handle, name: str, encoding: str):
        self._handle, self._name, self._encoding = handle, name, encoding
        self._number = 0
        self._rejects: deque[Rejected] = deque()
        self.row_line: int | None = None
        self.at_end = False
        self.header_unreadable = False

    def __iter__(self):
        return self

    def __next__(self) -> str:
        while True:
            raw = self._handle.readline()
            if not raw:
                self.at_end = True
                raise StopIteration
            self._number += 1
            if self.row_line is None:
                self.row_line = self._number
            try:
                text = raw.decode("utf-8-sig" if self._number == 1 and self._encoding.lower().replace("_", "-")
                                  in ("utf-8", "utf8") else self._encoding)
            except UnicodeDecodeError as error:
                if self._number == 1:
                    self.header_unreadable = True
                    raise StopIteration from None
                self._rejects.append(Rejected(Source(self._name, self._number), (
                    f"the line is not valid {self._encoding} (byte {raw[error.start]:#04x} at position "
                    f"{error.start + 1}); check the spec's `encoding` (Korean systems often write cp949)")))
                if self.row_line == self._number:
                    self.row_line = None
                continue
            if not raw.endswith(b"\n"):
                self.at_end = True
            return text

    def start_row(self) -> None:
        self.row_line = None

    def drain(self) -> Iterator[Rejected]:
        while self._rejects:
            yield self._rejects.popleft()
