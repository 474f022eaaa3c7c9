"""De-identification of an approved project's cohort for export as NDJSON: a pipeline, declared in the project's
JSON file (validated with marshmallow), applied to each resource of the cohort's patients.

    {"project": "KR-RARE-2026-01", "approvedBy": "data steward", "approvedOn": "2026-11-30",
     "cohort": <a cohort definition>, "types": ["Patient", "Condition", ...],
     "pseudonymKeyFile": "/etc/fhir-server/project.key",
     "redact": ["Patient.telecom", "*.note"], "dateShiftDays": 30, "generalize": {"ageOver": 89, "address": true},
     "perturb": {"Observation.valueQuantity": 0.05}}

Steps, in order: redact (names, telecoms, identifiers, photos, contacts and narratives always; more by path),
pseudonymize (every id and reference becomes an HMAC-SHA256 of it under the project's key, which lives in its
own file, never in the database or the export; a plain hash of an identifier is refused, since ids and
registration numbers are few enough to be hashed all and matched), shift dates (each patient's by the same
keyed number of days, within +-dateShiftDays, so intervals within a record survive), generalize (a birth date
over ``ageOver`` becomes the year that makes the age ageOver+1, addresses keep their region: the first word
and the first three digits of the postal code) and perturb (a quantity's value moves by up to +-that fraction,
keyed by the resource).
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import re
from dataclasses import dataclass
from decimal import Decimal

from marshmallow import Schema, ValidationError, fields, validate, validates

ALWAYS_REDACTED = ("name", "telecom", "identifier", "photo", "contact", "text", "address.line")
_DATE_KEYS = {"birthDate", "recordedDate", "authoredOn", "issued", "start", "end", "date", "recorded", "onsetDateTime",
              "abatementDateTime", "effectiveDateTime", "performedDateTime", "occurrenceDateTime",
              "deceasedDateTime", "effectiveInstant", "lastUpdated", "dateWritten", "assertedDate"}
_DATE = re.compile(r"(\d{4})(-\d{2}(-\d{2}(T[\d:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?")
_PATH = re.compile(r"(\*|[A-Z][A-Za-z]+)\.[a-z][A-Za-z]*(\.[a-z][A-Za-z]*)*")


class _Generalize(Schema):
    ageOver = fields.Integer(load_default=89, validate=validate.Range(1, 120))
    address = fields.Boolean(load_default=True)


class _Project(Schema):
    project = fields.String(required=True, validate=validate.Regexp(r"^[A-Za-z0-9._-]{1,64}$"))
    approvedBy = fields.String(required=True, validate=validate.Length(min=1))
    approvedOn = fields.Date(required=True)
    cohort = fields.Dict(required=True)
    types = fields.List(fields.String(validate=validate.Regexp(r"^[A-Z][A-Za-z]+$")), required=True,
                        validate=validate.Length(min=1))
    pseudonymKeyFile = fields.String(required=True, validate=validate.Length(min=1))
    pseudonyms = fields.String(load_default="keyed-hash", validate=validate.OneOf(
        ["keyed-hash"], error="only `keyed-hash` (HMAC with the project's key): a plain hash of an identifier can be "
                              "reversed by hashing every possible one"))
    redact = fields.List(fields.String(validate=validate.Regexp(_PATH.pattern + "$")), load_default=list)
    dateShiftDays = fields.Integer(load_default=30, validate=validate.Range(0, 3650))
    generalize = fields.Nested(_Generalize, load_default=lambda: {"ageOver": 89, "address": True})
    perturb = fields.Dict(keys=fields.String(validate=validate.Regexp(_PATH.pattern + "$")),
                          values=fields.Float(validate=validate.Range(0, 1)), load_default=dict)

    @validates("types")
    def _patient_first(self, value, **kwargs):
        if "Patient" not in value:
            raise ValidationError("must include `Patient`: the other types' patients are the cohort's.")


@dataclass(frozen=True)
class Project:
    name: str
    cohort: dict
    types: tuple[str, ...]
    key_file: str
    redact: tuple[str, ...]
    shift_days: int
    age_over: int
    generalize_address: bool
    perturb: dict[str, float]


def project(source) -> Project:
    """The validated project; ValueError naming what is wrong."""
    try:
        data = _Project().load(source)
    except ValidationError as error:
        raise ValueError(f"the project file is not valid: {error.messages}") from None
    return Project(data["project"], data["cohort"], tuple(data["types"]), data["pseudonymKeyFile"],
                   tuple(data["redact"]), data["dateShiftDays"], data["generalize"]["ageOver"],
                   data["generalize"]["address"], dict(data["perturb"]))


class Deidentifier:
    def __init__(self, project_: Project, key: bytes, today: datetime.date):
        if len(key) < 16:
            raise ValueError("the pseudonym key must hold at least 16 bytes")
        self.project, self._key, self._today = project_, key, today

    def _mac(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode(), hashlib.sha256).digest()

    def pseudonym(self, resource_type: str, id_: str) -> str:
        return base64.b32encode(self._mac(f"{resource_type}/{id_}")[:20]).decode().lower()

    def shift(self, patient_id: str) -> int:
        """The patient's date shift in days, in [-dateShiftDays, +dateShiftDays]."""
        span = 2 * self.project.shift_days + 1
        return int.from_bytes(self._mac(f"shift|{patient_id}")[:8], "big") % span - self.project.shift_days

    def resource(self, resource: dict, patient_id: str) -> dict:
        """The de-identified copy of one resource of the patient ``patient_id``."""
        kind = resource["resourceType"]
        copy = _redacted(resource, kind, self.project.redact)
        copy["id"] = self.pseudonym(kind, resource["id"])
        copy.pop("meta", None)  # versionId, lastUpdated, source: when and where it was written
        copy = self._walk(copy, self.shift(patient_id))
        if kind == "Patient":
            self._generalize_patient(copy)
        for path, fraction in self.project.perturb.items():
            owner, element = path.split(".", 1)
            if owner in (kind, "*"):
                self._perturb(copy, element, fraction, f"{kind}/{resource['id']}")
        return copy

    def _walk(self, value, days: int, key: str = ""):
        if isinstance(value, dict):
            # A reference's display may name the person it points at.
            return {name: self._reference(item) if name == "reference" and isinstance(item, str)
                    else self._walk(item, days, name) for name, item in value.items()
                    if not (name == "display" and "reference" in value)}
        if isinstance(value, list):
            return [self._walk(item, days, key) for item in value]
        if isinstance(value, str) and key in _DATE_KEYS and _DATE.fullmatch(value):
            return _shifted(value, days)
        return value

    def _reference(self, reference: str) -> str:
        kind, _, id_ = reference.partition("/")
        if not id_ or "/" in id_ or not kind[:1].isupper():
            return "redacted"  # absolute URLs and contained references may name the source system
        return f"{kind}/{self.pseudonym(kind, id_)}"

    def _generalize_patient(self, patient: dict) -> None:
        born = patient.get("birthDate")
        if born and (self._today.year - int(born[:4])) > self.project.age_over:
            patient["birthDate"] = str(self._today.year - self.project.age_over - 1)
        if self.project.generalize_address:
            patient["address"] = [_region(address) for address in patient.get("address", [])]
            if not any(patient["address"]):
                patient.pop("address")

    def _perturb(self, resource: dict, element: str, fraction: float, seed: str) -> None:
        quantity = resource.get(element)
        value = quantity.get("value") if isinstance(quantity, dict) else None
        if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
            unit = int.from_bytes(self._mac(f"perturb|{seed}")[:8], "big") / 2 ** 64 * 2 - 1  # in [-1, 1)
            exact = Decimal(str(value))
            # Kept to the original's decimals, so the precision does not betray the perturbation.
            quantity["value"] = (exact * (1 + Decimal(fraction) * Decimal(unit))).quantize(exact)


def _redacted(resource: dict, kind: str, paths: tuple[str, ...]) -> dict:
    copy = dict(resource)
    for path in (*ALWAYS_REDACTED, *(path.split(".", 1)[1] for path in paths if path.split(".")[0] in (kind, "*"))):
        _remove(copy, path.split("."))
    return copy


def _remove(value, steps: list[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _remove(item, steps)
    elif isinstance(value, dict) and steps[0] in value:
        if len(steps) == 1:
            del value[steps[0]]
        else:
            value[steps[0]] = _copied(value[steps[0]])
            _remove(value[steps[0]], steps[1:])


def _copied(value):
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


def _shifted(text: str, days: int) -> str:
    """A date or dateTime moved by ``days``, at its own precision (a year or month moves as its first day)."""
    if len(text) == 4:
        return str((datetime.date(int(text), 1, 1) + datetime.timedelta(days=days)).year)
    if len(text) == 7:
        return (datetime.date(int(text[:4]), int(text[5:]), 1) + datetime.timedelta(days=days)).isoformat()[:7]
    moved = datetime.date.fromisoformat(text[:10]) + datetime.timedelta(days=days)
    return moved.isoformat() + text[10:]


def _region(address: dict) -> dict:
    region = {}
    words = (address.get("state") or address.get("text") or address.get("city") or "").split()
    if words:
        region["state"] = words[0]
    if address.get("postalCode"):
        region["postalCode"] = address["postalCode"][:3]
    if address.get("country"):
        region["country"] = address["country"]
    return region
