"""What every table's mapping needs: deterministic ids and references, codings from concepts (the standard
concept's code, the source value kept), diagnosis codes normalized, and OMOP dates as FHIR dates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from terminology.normalize import Normalizer

from mappers import ids
from mappers.base import RecordError
from mappers.diagnoses import diagnosis_concept
from mappers.omop.concepts import DIAGNOSIS_VOCABULARIES, Concepts


@dataclass
class OmopContext:
    source_system: str
    concepts: Concepts
    normalizer: Normalizer
    zone: ZoneInfo
    people: set[str]  # person_id of every person row mapped
    visits: set[str]  # visit_occurrence_id of every visit mapped
    deaths: dict[str, tuple[str, str]]  # person_id -> (death_date, death_datetime)

    def id(self, resource_type: str, key: str) -> str:
        return ids.resource_id(self.source_system, resource_type, key)

    def patient(self, row: dict) -> dict:
        person = row.get("person_id", "")
        if person not in self.people:
            raise RecordError(f"person `{person}` is not in the person table, or was rejected", "person_id")
        return {"reference": f"Patient/{self.id('Patient', person)}"}

    def encounter(self, row: dict) -> dict | None:
        visit = row.get("visit_occurrence_id", "")
        if visit in ("", "0"):
            return None
        if visit not in self.visits:
            raise RecordError(f"visit `{visit}` is not in the visit_occurrence table, or was rejected",
                              "visit_occurrence_id")
        return {"reference": f"Encounter/{self.id('Encounter', visit)}"}

    def concept(self, row: dict, prefix: str, *, required: bool = True, diagnosis: bool = False) -> dict | None:
        """The CodeableConcept of ``{prefix}_concept_id``: the standard concept's coding, the source concept's
        coding when it differs, and ``{prefix}_source_value`` as the text. Source diagnosis codes (ICD-10,
        KCD) are normalized too."""
        standard = self.concepts.get(row.get(f"{prefix}_concept_id"))
        source = self.concepts.get(row.get(f"{prefix}_source_concept_id"))
        source_value = (row.get(f"{prefix}_source_value") or "").strip()
        codings = [standard.coding()] if standard else []
        if source and (not standard or source.id != standard.id):
            if diagnosis and source.vocabulary in DIAGNOSIS_VOCABULARIES:
                normalized = diagnosis_concept(self.normalizer, source.code, source.system, source.name,
                                               keep_unrecognized=True, field=f"{prefix}_source_value")
                codings += [coding for coding in normalized["coding"] if coding not in codings]
            else:
                codings.append(source.coding())
        if not codings:
            if required and not source_value:
                raise RecordError(f"`{prefix}_concept_id` `{row.get(f'{prefix}_concept_id')}` is not in the CONCEPT "
                                  f"table and there is no source value", f"{prefix}_concept_id")
            return {"text": source_value} if source_value else None
        found = {"coding": codings}
        if source_value:
            found["text"] = source_value
        return found

    def moment(self, row: dict, date_column: str, datetime_column: str | None = None) -> str | None:
        """A FHIR dateTime: the datetime column in the source's zone, or the date when the time is unknown
        (OMOP writes midnight for that)."""
        stamp = (row.get(datetime_column) or "").strip() if datetime_column else ""
        day = (row.get(date_column) or "").strip()
        try:
            if stamp:
                moment = datetime.fromisoformat(stamp)
                if moment.time() != datetime.min.time() or moment.tzinfo:
                    moment = moment if moment.tzinfo else moment.replace(tzinfo=self.zone)
                    return moment.isoformat()
                return moment.date().isoformat()
            if day:
                return datetime.fromisoformat(day).date().isoformat()
        except ValueError:
            column = datetime_column if stamp else date_column
            raise RecordError(f"`{stamp or day}` is not a date", column) from None
        return None
