"""The criteria of a cohort definition as typed values, and each event as the FHIR searches that find it
(https://hl7.org/fhir/R4/search.html), so a cohort means what the same searches mean; the search backend runs
them. ``definition.py`` validates the JSON and builds these.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from fhir_server.errors import BadRequest
from terminology.systems import icd10, kcd, orphanet

LOINC = "http://loinc.org"
SYSTEMS = {"icd10": icd10.URL, "kcd": kcd.URL, "orpha": orphanet.URL, "loinc": LOINC,
           "snomed": "http://snomed.info/sct", "hira-medication": "http://www.hl7korea.or.kr/CodeSystem/hira-edi-medication",
           "hira-procedure": "http://www.hl7korea.or.kr/CodeSystem/hira-edi-procedure"}
# Where each event's patient and date are indexed: (patient reference parameter, date parameter).
EVENT_TYPES = {"Condition": ("patient", "onset-date"), "Observation": ("patient", "date"),
               "MedicationRequest": ("patient", "authoredon"), "MedicationStatement": ("patient", "effective"),
               "MedicationAdministration": ("patient", "effective-time"), "Procedure": ("patient", "date"),
               "Encounter": ("patient", "date")}
SEXES = ("male", "female", "other", "unknown")
COMPARATORS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "=": "eq", "!=": "ne"}
ZYGOSITY = {"heterozygous": "LA6706-1", "homozygous": "LA6705-3", "hemizygous": "LA6707-9"}
_GENE, _ZYGOSITY_CODE = "48018-6", "53034-5"
_HGVS_CODES = ("48004-6", "48005-3", "81290-9")  # c., p. and g. HGVS components
_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"


@dataclass(frozen=True)
class Search:
    """One FHIR search: resources of ``resource_type`` matching every parameter."""
    resource_type: str
    params: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Window:
    from_days: int
    to_days: int


@dataclass(frozen=True)
class Event:
    """A patient has a resource matching any of ``searches`` (within ``window`` of their index event)."""
    kind: str
    path: str  # where it is in the definition, for error messages
    searches: tuple[Search, ...]
    window: Window | None = None
    codes: tuple[str, ...] = ()  # the codes (`system|code`) and value sets it names, for the rare-disease rule


@dataclass(frozen=True)
class Sex:
    value: str


@dataclass(frozen=True)
class Age:
    path: str
    minimum: int | None
    maximum: int | None
    at: datetime.date | None  # None: at the index event


@dataclass(frozen=True)
class All:
    parts: tuple


@dataclass(frozen=True)
class Any:
    parts: tuple


@dataclass(frozen=True)
class Not:
    part: object


Criterion = All | Any | Not | Sex | Age | Event


class Compiler:
    """Validated JSON -> criteria, each event as the FHIR searches that find it."""

    def __init__(self, terminology):
        self._terminology = terminology
        self.relative: list[str] = []  # paths of what counts from the index event

    def criterion(self, data: dict, path: str) -> Criterion:
        kind, body = next(iter(data.items()))
        here = f"{path}.{kind}"
        if kind in ("and", "or"):
            parts = tuple(self.criterion(part, f"{here}.{number}") for number, part in enumerate(body))
            return All(parts) if kind == "and" else Any(parts)
        if kind == "not":
            return Not(self.criterion(body, here))
        if kind == "sex":
            return Sex(body)
        if kind == "age":
            if body["at"] == "index":
                self.relative.append(here)
            return Age(here, body.get("min"), body.get("max"),
                       None if body["at"] == "index" else datetime.date.fromisoformat(body["at"]))
        window = None
        if "within" in body:
            self.relative.append(f"{here}.within")
            window = Window(body["within"]["fromDays"], body["within"]["toDays"])
        searches, codes = getattr(self, "_" + kind)(body, here)
        return Event(kind, here, tuple(searches), window, tuple(codes))

    def _diagnosis(self, body: dict, path: str):
        return self._coded(["Condition"], body, path, diagnosis=True)

    def _medication(self, body: dict, path: str):
        return self._coded(["MedicationRequest", "MedicationStatement", "MedicationAdministration"], body, path)

    def _procedure(self, body: dict, path: str):
        return self._coded(["Procedure"], body, path)

    def _coded(self, resource_types: list[str], body: dict, path: str, diagnosis: bool = False):
        """The searches on ``code`` of each type, and the codes named."""
        tokens = self._tokens(body, path, diagnosis)
        return [Search(resource_type, ((parameter, value),)) for resource_type in resource_types
                for parameter, value in tokens], [value for _, value in tokens]

    def _tokens(self, body: dict, path: str, diagnosis: bool) -> list[tuple[str, str]]:
        """(parameter, value) pairs on `code`, any of which may match."""
        if "valueSet" in body:
            return [("code:in", body["valueSet"])]
        system = SYSTEMS.get(body.get("system", ""), body.get("system"))
        code = body["code"]
        if not system:
            raise BadRequest(f"`{path}`: name the code's `system` ({', '.join(SYSTEMS)} or a URL).",
                             expression=(path,))
        if not diagnosis or system not in (icd10.URL, kcd.URL, orphanet.URL):
            return [("code" + (":below" if body["below"] else ""), _token(system, code))]
        normalized = self._terminology.normalizer.normalize(code, system)
        if not normalized.recognized:
            raise BadRequest(f"`{path}`: `{code}` is not a code of `{system}` ({'; '.join(normalized.notes)}).",
                             expression=(path,))
        canonical = normalized.codings[0]
        if canonical.system == orphanet.URL:
            from terminology.valuesets import orpha_diagnoses

            members = sorted(orpha_diagnoses(self._terminology.terminology, canonical.code, body["below"]))
            return [("code", ",".join(_token(each_system, each_code) for each_system, each_code in members))]
        # ICD-10 and KCD are one classification here (KCD specializes ICD-10): a code means it in either.
        systems = [icd10.URL] + ([kcd.URL] if self._terminology.terminology.kcd is not None else [])
        if not body["below"]:
            return [("code", ",".join(_token(each, canonical.code) for each in (icd10.URL, kcd.URL)))]
        return [("code:below", _token(each, canonical.code)) for each in systems] + \
            ([] if kcd.URL in systems else [("code", _token(kcd.URL, canonical.code))])

    def _lab(self, body: dict, path: str):
        system = SYSTEMS.get(body["system"], body["system"])
        params = [("code", _token(system, body["code"]))]
        if "comparator" in body:
            value = f"{COMPARATORS[body['comparator']]}{body['value']:g}"
            params.append(("value-quantity", value + (f"||{_escape(body['unit'])}" if "unit" in body else "")))
        return [Search("Observation", tuple(params))], [f"{system}|{body['code']}"]

    def _variant(self, body: dict, path: str):
        params = []
        if "gene" in body:
            params.append(_component(_GENE, "http://www.genenames.org", body["gene"].upper()))
        if "hgvs" in body:
            params.append(("component-code-value-concept", ",".join(
                f"{_token(LOINC, code)}${_token('http://varnomen.hgvs.org', body['hgvs'])}" for code in _HGVS_CODES)))
        if "zygosity" in body:
            params.append(_component(_ZYGOSITY_CODE, LOINC, ZYGOSITY[body["zygosity"]]))
        return [Search("Observation", tuple(params))], []

    def _encounter(self, body: dict, path: str):
        params = []
        if "class_" in body:
            params.append(("class", _token(_ACT_CODE, body["class_"])))
        if "type" in body:
            params.extend(self._tokens(body["type"], f"{path}.type", diagnosis=False))
            params = [("type" + name[len("code"):] if name.startswith("code") else name, value) for name, value in params]
        return [Search("Encounter", tuple(params))], []


def _component(code: str, system: str, value: str) -> tuple[str, str]:
    return "component-code-value-concept", f"{_token(LOINC, code)}${_token(system, value)}"


def _escape(text: str) -> str:
    """A value as search.html escapes it: `\\`, `,`, `$` and `|` are literal."""
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("$", "\\$").replace("|", "\\|")


def _token(system: str, code: str) -> str:
    return f"{_escape(system)}|{_escape(code)}"
