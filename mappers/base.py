"""What every mapper yields: per source record, either the resources it became or a reject saying why not.

Read = mapped + rejected: a mapper yields exactly one result per source record it read, so the counts
of a run add up and nothing is lost without a word.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Source:
    """Where a record came from: a file and line (or row), and inside it a message or segment."""

    file: str
    line: int | None = None  # 1-based line of a text file, or row number of a database table
    part: str | None = None  # e.g. the HL7 message control id and segment, or a VCF sample

    def __reduce__(self):
        # Pickled with every record sent to another process: the pickling that slots give a frozen dataclass looks
        # its fields up for every object.
        return Source, (self.file, self.line, self.part)

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        return where + (f" ({self.part})" if self.part else "")

    def as_json(self) -> dict:
        found = {"file": self.file, "line": self.line, "part": self.part}
        return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Mapped:
    """A source record and the FHIR resources it became (none, for a record with nothing to load).

    ``if_absent`` holds resources the record only knows in part (the patient of a lab result message): they
    are created when missing and never replace what is stored."""

    source: Source
    resources: list[dict] = field(default_factory=list)
    if_absent: list[dict] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A source record that was not loaded: the field at fault and a reason a person can act on."""

    source: Source
    reason: str
    field: str | None = None

    def as_json(self) -> dict:
        found = {"source": self.source.as_json(), "field": self.field, "reason": self.reason}
        return {key: value for key, value in found.items() if value is not None}


Result = Mapped | Rejected


class RecordError(ValueError):
    """Raised inside a mapper for a record it cannot map; turned into a ``Rejected`` with the record's source."""

    def __init__(self, reason: str, field: str | None = None):
        super().__init__(reason)
        self.reason, self.field = reason, field
