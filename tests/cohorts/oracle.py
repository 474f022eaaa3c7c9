"""Cohort definitions evaluated by brute force over the raw resources, independently of the server's compiler:
plain Python over the JSON, with the rules of ``cohorts/definition.py``'s docstring read by hand.

Times are UTC (a date without a zone is UTC midnight); a window counts whole UTC days from the patient's
earliest index event; an age is whole calendar years between two UTC dates.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

ICD10 = "http://hl7.org/fhir/sid/icd-10"
KCD = "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8"
LOINC = "http://loinc.org"
SYSTEMS = {"icd10": ICD10, "kcd": KCD, "loinc": LOINC,
           "hira-medication": "http://www.hl7korea.or.kr/CodeSystem/hira-edi-medication",
           "hira-procedure": "http://www.hl7korea.or.kr/CodeSystem/hira-edi-procedure"}
ZYGOSITY = {"heterozygous": "LA6706-1", "homozygous": "LA6705-3", "hemizygous": "LA6707-9"}


_ALIGNMENTS = [tuple(line.split("\t")) for line in
               (Path(__file__).parents[2] / "terminology" / "data" / "orphanet-icd10.tsv").read_text().splitlines()
               if line.strip()]


def instant(text: str) -> datetime.datetime:
    """The start of a FHIR date or dateTime, in UTC."""
    if len(text) == 4:
        text += "-01-01"
    elif len(text) == 7:
        text += "-01"
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def years_between(born: datetime.date, at: datetime.date) -> int:
    return at.year - born.year - ((at.month, at.day) < (born.month, born.day))


class Population:
    def __init__(self, resources: list[dict], value_sets: dict[str, set[tuple[str, str]]]):
        self.patients = {r["id"]: r for r in resources if r["resourceType"] == "Patient"}
        self.by_type: dict[str, list[dict]] = {}
        for resource in resources:
            self.by_type.setdefault(resource["resourceType"], []).append(resource)
        self.value_sets = value_sets
        self._events: dict[tuple, dict[str, list[dict]]] = {}

    def patient_of(self, resource: dict) -> str | None:
        reference = (resource.get("subject") or resource.get("patient") or {}).get("reference", "")
        return reference.removeprefix("Patient/") if reference.startswith("Patient/") else None

    # -- what each event looks at
    @staticmethod
    def date_of(resource: dict) -> datetime.datetime | None:
        kind = resource["resourceType"]
        text = {"Condition": resource.get("onsetDateTime"), "Observation": resource.get("effectiveDateTime"),
                "MedicationRequest": resource.get("authoredOn"), "Procedure": resource.get("performedDateTime"),
                "Encounter": (resource.get("period") or {}).get("start")}.get(kind)
        return instant(text) if text else None

    @staticmethod
    def codings(concept: dict | None) -> list[tuple[str, str]]:
        return [(c.get("system"), c.get("code")) for c in (concept or {}).get("coding", [])]

    def code_matches(self, codings, spec: dict, diagnosis: bool) -> bool:
        if "valueSet" in spec:
            return any(coding in self.value_sets[spec["valueSet"]] for coding in codings)
        system = SYSTEMS.get(spec["system"], spec["system"])
        code = spec["code"]
        if diagnosis and spec["system"] == "orpha":
            # Recorded as the ICD-10 codes Orphanet aligns to it: exactly, or broader outside the neoplasms.
            icd_codes = {icd for orpha, icd, relation in _ALIGNMENTS if orpha == code.removeprefix("ORPHA:")
                         and (relation == "E" or (relation == "NTBT" and not "C00" <= icd[:3] <= "D48"))}
            return any(each_system in (ICD10, KCD) and each in icd_codes for each_system, each in codings)
        if diagnosis and system in (ICD10, KCD):
            # ICD-10 and KCD as one classification; `below` by the code's structure (C50 covers C50.9).
            compact = code.upper().replace(".", "")  # an EMR's `c509` is C50.9
            code = compact if len(compact) <= 3 else f"{compact[:3]}.{compact[3:]}"
            return any(each_system in (ICD10, KCD) and (each == code or (spec.get("below") and each.startswith(code)))
                       for each_system, each in codings)
        return any(each_system == system and each == code for each_system, each in codings)

    def event_resources(self, kind: str, spec: dict) -> list[dict]:
        if kind == "diagnosis":
            return [r for r in self.by_type.get("Condition", []) if self.code_matches(self.codings(r.get("code")), spec, True)]
        if kind == "medication":
            return [r for r in self.by_type.get("MedicationRequest", [])
                    if self.code_matches(self.codings(r.get("medicationCodeableConcept")), spec, False)]
        if kind == "procedure":
            return [r for r in self.by_type.get("Procedure", []) if self.code_matches(self.codings(r.get("code")), spec, False)]
        if kind == "encounter":
            return [r for r in self.by_type.get("Encounter", []) if (r.get("class") or {}).get("code") == spec["class"]]
        if kind == "lab":
            return [r for r in self.by_type.get("Observation", []) if self._lab(r, spec)]
        if kind == "variant":
            return [r for r in self.by_type.get("Observation", []) if self._variant(r, spec)]
        raise ValueError(kind)

    def _lab(self, resource: dict, spec: dict) -> bool:
        if (SYSTEMS.get(spec.get("system", "loinc")), spec["code"]) not in self.codings(resource.get("code")):
            return False
        if "comparator" not in spec:
            return True
        quantity = resource.get("valueQuantity")
        if not quantity or "value" not in quantity:
            return False
        if "unit" in spec and spec["unit"] not in (quantity.get("code"), quantity.get("unit")):
            return False
        value, limit = float(quantity["value"]), spec["value"]
        return {">": value > limit, ">=": value >= limit, "<": value < limit, "<=": value <= limit}[spec["comparator"]]

    def _variant(self, resource: dict, spec: dict) -> bool:
        components = {}
        for component in resource.get("component", []):
            for system, code in self.codings(component.get("code")):
                components.setdefault(code, []).extend(self.codings(component.get("valueCodeableConcept")))
        if "gene" in spec and ("http://www.genenames.org", spec["gene"]) not in components.get("48018-6", []):
            return False
        if "hgvs" in spec and not any(("http://varnomen.hgvs.org", spec["hgvs"]) in components.get(code, [])
                                      for code in ("48004-6", "48005-3", "81290-9")):
            return False
        if "zygosity" in spec and (LOINC, ZYGOSITY[spec["zygosity"]]) not in components.get("53034-5", []):
            return False
        return True

    def _by_patient(self, kind: str, spec: dict) -> dict[str, list[dict]]:
        """The event's resources by patient, worked out once per event (the tests ask for each patient)."""
        key = (kind, json.dumps(spec, sort_keys=True))
        if key not in self._events:
            grouped: dict[str, list[dict]] = {}
            for resource in self.event_resources(kind, spec):
                grouped.setdefault(self.patient_of(resource), []).append(resource)
            self._events[key] = grouped
        return self._events[key]

    # -- the definition
    def index_dates(self, definition: dict) -> dict[str, datetime.datetime]:
        kind, spec = next(iter(definition["index"].items()))
        found: dict[str, datetime.datetime] = {}
        for resource in self.event_resources(kind, spec):
            patient, when = self.patient_of(resource), self.date_of(resource)
            if patient in self.patients and when is not None and (patient not in found or when < found[patient]):
                found[patient] = when
        return found

    def members(self, definition: dict) -> set[str]:
        index = self.index_dates(definition) if "index" in definition else None
        found = {patient for patient in self.patients if self.holds(definition["criteria"], patient, index)}
        return found & set(index) if index is not None else found

    def holds(self, criterion: dict, patient: str, index) -> bool:
        kind, body = next(iter(criterion.items()))
        if kind == "and":
            return all(self.holds(part, patient, index) for part in body)
        if kind == "or":
            return any(self.holds(part, patient, index) for part in body)
        if kind == "not":
            return not self.holds(body, patient, index)
        record = self.patients[patient]
        if kind == "sex":
            return record.get("gender", "unknown") == body
        if kind == "age":
            if "birthDate" not in record:
                return False
            if body["at"] == "index":
                if patient not in index:
                    return False
                at = index[patient].date()
            else:
                at = datetime.date.fromisoformat(body["at"])
            years = years_between(instant(record["birthDate"]).date(), at)
            return body.get("min", 0) <= years <= body.get("max", 10_000)
        for resource in self._by_patient(kind, body).get(patient, ()):
            if "within" not in body:
                return True
            when = self.date_of(resource)
            if when is None or patient not in index:
                continue
            days = (when.date() - index[patient].date()).days
            if body["within"]["fromDays"] <= days <= body["within"]["toDays"]:
                return True
        return False

    # -- breakdowns
    def by_sex(self, members: set[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for patient in members:
            sex = self.patients[patient].get("gender", "unknown")
            found[sex] = found.get(sex, 0) + 1
        return found

    def by_age_band(self, members: set[str], at: datetime.date) -> dict[str, int]:
        found: dict[str, int] = {}
        for patient in members:
            band = self.age_band(patient, at)
            found[band] = found.get(band, 0) + 1
        return found

    def by_age_band_and_sex(self, members: set[str], at: datetime.date) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for patient in members:
            cell = (self.age_band(patient, at), self.patients[patient].get("gender", "unknown"))
            found[cell] = found.get(cell, 0) + 1
        return found

    def age_band(self, patient: str, at: datetime.date) -> str:
        born = self.patients[patient].get("birthDate")
        if born is None:
            return "unknown"
        decade = years_between(instant(born).date(), at) // 10
        return "90+" if decade >= 9 else f"{decade * 10}-{decade * 10 + 9}"

    def by_index_year(self, members: set[str], definition: dict) -> dict[str, int]:
        index = self.index_dates(definition)
        found: dict[str, int] = {}
        for patient in members:
            year = str(index[patient].year)
            found[year] = found.get(year, 0) + 1
        return found

    def by_diagnosis(self, members: set[str], definition: dict) -> dict[str, int]:
        specs = [body for kind, body in _events(definition) if kind == "diagnosis"]
        first: dict[str, tuple] = {}
        for resource in self.by_type.get("Condition", []):
            patient = self.patient_of(resource)
            if patient not in members:
                continue
            if specs and not any(self.code_matches(self.codings(resource.get("code")), spec, True) for spec in specs):
                continue
            when = self.date_of(resource)
            for system, code in self.codings(resource.get("code")):
                if system == ICD10:
                    key = (when is None, when or datetime.datetime.min.replace(tzinfo=datetime.timezone.utc), code)
                    if patient not in first or key < first[patient]:
                        first[patient] = key
        found: dict[str, int] = {}
        for patient, (_, _, code) in first.items():
            found[code[:3]] = found.get(code[:3], 0) + 1
        without = len(members) - len(first)
        if without:
            found["none"] = without
        return found


def _events(definition: dict):
    stack = [definition["criteria"]] + ([definition["index"]] if "index" in definition else [])
    while stack:
        kind, body = next(iter(stack.pop().items()))
        if kind in ("and", "or"):
            stack.extend(body)
        elif kind == "not":
            stack.append(body)
        else:
            yield kind, body
