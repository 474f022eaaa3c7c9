"""The tables of an OMOP CDM, row by row, to FHIR: one ``Mapped`` or ``Rejected`` per row read.

People and visits come first, so a row naming a person or visit that is not there, or was rejected, is
rejected with that reason. The death table is read before people (it gives their deceasedDateTime) and
mapped in its turn (a cause of death becomes an Observation).
"""

from __future__ import annotations

from typing import Iterator
from zoneinfo import ZoneInfo

from terminology.normalize import Normalizer

from mappers.base import Mapped, RecordError, Rejected, Result
from mappers.omop.context import OmopContext
from mappers.omop.tables import TABLES


def referenced_concepts(source) -> set[int]:
    """Every concept id the clinical tables use: only those are read from CONCEPT."""
    wanted: set[int] = set()
    for module in TABLES:
        for _, row in source.rows(module.TABLE):
            for column, value in row.items():
                if column.endswith("_concept_id") and value.isdigit():
                    wanted.add(int(value))
    return wanted


class OmopMapper:
    def __init__(self, source, normalizer: Normalizer, source_system: str, timezone: str = "Asia/Seoul"):
        self.source = source
        self.normalizer, self.source_system, self.zone = normalizer, source_system, ZoneInfo(timezone)
        self.context: OmopContext | None = None

    def map(self) -> Iterator[Result]:
        # The pass over the tables for their concepts runs here, when mapping starts, not when the source is
        # opened: an HTTP upload is answered 202 before it.
        deaths = {row.get("person_id", ""): (row.get("death_date", ""), row.get("death_datetime", ""))
                  for _, row in self.source.rows("death")}
        self.context = OmopContext(self.source_system, self.source.concepts(referenced_concepts(self.source)),
                                   self.normalizer, self.zone, set(), set(), deaths)
        for module in TABLES:
            seen: set[str] = set()
            for source, row in self.source.rows(module.TABLE):
                if "__width__" in row:
                    yield Rejected(source, row["__width__"])
                    continue
                key = (row.get(module.KEY) or "").strip()
                try:
                    if not key:
                        raise RecordError(f"`{module.KEY}` is empty", module.KEY)
                    if key in seen:
                        raise RecordError(f"`{module.KEY}` {key} appears twice in {module.TABLE}", module.KEY)
                    resource = module.build(row, self.context)
                except RecordError as error:
                    yield Rejected(source, error.reason, error.field)
                    continue
                seen.add(key)
                if module.TABLE == "person":
                    self.context.people.add(key)
                elif module.TABLE == "visit_occurrence":
                    self.context.visits.add(key)
                yield Mapped(source, [resource] if resource else [])

