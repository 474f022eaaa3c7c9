"""A cohort definition: which patients a researcher asks about, as JSON validated with marshmallow.

    {"index": <event>,                      optional: the event each patient's time windows count from;
                                            with one, only patients who have it are in the cohort
     "criteria": <criterion>}

    criterion := {"and": [criterion, ...]} | {"or": [criterion, ...]} | {"not": criterion}
               | {"sex": "female"}            (male, female, other, unknown)
               | {"age": {"min": 18, "max": 65, "at": "2025-01-01"}}    whole years; "at": "index" too
               | <event>
    event     := {"diagnosis": code} | {"medication": code} | {"procedure": code}
               | {"lab": {"code": "4548-4", "comparator": ">", "value": 7, "unit": "%"}}   (LOINC)
               | {"variant": {"gene": "BRCA1", "hgvs": "c.68_69del", "zygosity": "heterozygous"}}
               | {"encounter": {"class": "IMP"}}
               each with an optional "within": {"fromDays": 0, "toDays": 90} relative to the index event
    code      := {"system": "icd10" | "kcd" | "orpha" | a URL, "code": "C50", "below": true} | {"valueSet": url}

Each event compiles to FHIR searches (https://hl7.org/fhir/R4/search.html) on the resource types that
record it, so a cohort means what the same searches mean; the search backend runs them.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

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
_COMPARATORS = {">": "gt", ">=": "ge", "<": "lt", "<=": "le", "=": "eq", "!=": "ne"}
_ZYGOSITY = {"heterozygous": "LA6706-1", "homozygous": "LA6705-3", "hemizygous": "LA6707-9"}
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


@dataclass(frozen=True)
class Definition:
    criteria: Criterion
    index: Event | None
    source: dict  # as validated

    def normalized(self) -> str:
        """The definition as canonical JSON: the same for the same question however it was spaced or ordered."""
        return json.dumps(self.source, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    def events(self) -> list[Event]:
        found = [self.index] if self.index else []
        stack = [self.criteria]
        while stack:
            node = stack.pop()
            if isinstance(node, (All, Any)):
                stack.extend(node.parts)
            elif isinstance(node, Not):
                stack.append(node.part)
            elif isinstance(node, Event):
                found.append(node)
        return found


class _Code(Schema):
    system = fields.String()
    code = fields.String(validate=validate.Length(min=1, max=64))
    below = fields.Boolean(load_default=False)
    valueSet = fields.String(validate=validate.Length(min=1))

    @validates_schema
    def _one_way(self, data, **kwargs):
        if ("valueSet" in data) == ("code" in data):
            raise ValidationError("give either `code` (with `system`) or `valueSet`.")


class _Window(Schema):
    fromDays = fields.Integer(required=True, validate=validate.Range(-36500, 36500))
    toDays = fields.Integer(required=True, validate=validate.Range(-36500, 36500))

    @validates_schema
    def _ordered(self, data, **kwargs):
        if data.get("fromDays", 0) > data.get("toDays", 0):
            raise ValidationError("`fromDays` must not be after `toDays`.")


class _Coded(_Code):
    within = fields.Nested(_Window)


class _Lab(Schema):
    system = fields.String(load_default="loinc")
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    comparator = fields.String(validate=validate.OneOf(list(_COMPARATORS)))
    value = fields.Float(allow_nan=False)
    unit = fields.String(validate=validate.Length(min=1, max=32))
    within = fields.Nested(_Window)

    @validates_schema
    def _paired(self, data, **kwargs):
        if ("comparator" in data) != ("value" in data):
            raise ValidationError("`comparator` and `value` go together.")


class _Variant(Schema):
    gene = fields.String(validate=validate.Regexp(r"^[A-Za-z0-9-]{1,32}$", error="not an HGNC gene symbol"))
    hgvs = fields.String(validate=validate.Length(min=3, max=200))
    zygosity = fields.String(validate=validate.OneOf(list(_ZYGOSITY)))
    within = fields.Nested(_Window)

    @validates_schema
    def _something(self, data, **kwargs):
        if not {"gene", "hgvs", "zygosity"} & set(data):
            raise ValidationError("name a `gene`, an `hgvs` change or a `zygosity`.")


class _Encounter(Schema):
    class_ = fields.String(data_key="class", validate=validate.Length(min=1, max=32))
    type = fields.Nested(_Code)
    within = fields.Nested(_Window)

    @validates_schema
    def _something(self, data, **kwargs):
        if "class_" not in data and "type" not in data:
            raise ValidationError("name the encounter `class` (AMB, IMP, EMER...) or a `type`.")


class _Age(Schema):
    min = fields.Integer(validate=validate.Range(0, 150))
    max = fields.Integer(validate=validate.Range(0, 150))
    at = fields.String(required=True)

    @validates_schema
    def _bounded(self, data, **kwargs):
        if "min" not in data and "max" not in data:
            raise ValidationError("give `min`, `max` or both (whole years, inclusive).")
        if data.get("min", 0) > data.get("max", 150):
            raise ValidationError("`min` must not be over `max`.")
        if data["at"] != "index":
            try:
                datetime.date.fromisoformat(data["at"])
            except ValueError:
                raise ValidationError({"at": ["a date (YYYY-MM-DD) or `index`."]}) from None


_EVENTS = {"diagnosis": _Coded, "medication": _Coded, "procedure": _Coded, "lab": _Lab, "variant": _Variant,
           "encounter": _Encounter}


class _CriterionField(fields.Field):
    """A criterion: an object with exactly one key, which says what kind it is."""

    def __init__(self, events_only: bool = False, **kwargs):
        super().__init__(**kwargs)
        self._events_only = events_only

    def _deserialize(self, value, attr, data, **kwargs):
        kinds = list(_EVENTS) if self._events_only else ["and", "or", "not", "sex", "age", *_EVENTS]
        if not isinstance(value, dict) or len(value) != 1 or next(iter(value)) not in kinds:
            raise ValidationError(f"a criterion is an object with one key of {', '.join(kinds)}.")
        kind, body = next(iter(value.items()))
        if kind in ("and", "or"):
            if not isinstance(body, list) or not body:
                raise ValidationError({kind: ["a non-empty list of criteria."]})
            field = fields.List(_CriterionField(), validate=validate.Length(max=100))
            return {kind: _nested(kind, lambda: field.deserialize(body))}
        if kind == "not":
            return {kind: _nested(kind, lambda: _CriterionField().deserialize(body))}
        if kind == "sex":
            return {kind: _nested(kind, lambda: fields.String(validate=validate.OneOf(SEXES)).deserialize(body))}
        schema = _Age() if kind == "age" else _EVENTS[kind]()
        if not isinstance(body, dict):
            raise ValidationError({kind: ["an object."]})
        return {kind: _nested(kind, lambda: schema.load(body))}


def _nested(key: str, load):
    try:
        return load()
    except ValidationError as error:
        raise ValidationError({key: error.messages}) from None


class _Definition(Schema):
    index = _CriterionField(events_only=True)
    criteria = _CriterionField(required=True)


def _flatten(messages, path: str = "") -> list[tuple[str, str]]:
    if isinstance(messages, dict):
        return [item for key, value in messages.items()
                for item in _flatten(value, path if key == "_schema" else f"{path}.{key}" if path else str(key))]
    if isinstance(messages, list) and all(isinstance(message, str) for message in messages):
        return [(path, message) for message in messages]
    return [item for message in messages for item in _flatten(message, path)]


def load(source, terminology) -> Definition:
    """The validated definition; BadRequest naming each wrong criterion by its path, e.g. `criteria.and.1.lab`."""
    if not isinstance(source, dict):
        raise BadRequest("A cohort definition is a JSON object with `criteria` (and optionally `index`).",
                         expression=("definition",))
    if _depth(source) > MAX_DEPTH:
        raise BadRequest(f"The cohort definition is nested too deep (more than {MAX_DEPTH} levels).",
                         expression=("definition",))
    try:
        data = _Definition().load(source)
    except ValidationError as error:
        problems = _flatten(error.messages)
        raise BadRequest("The cohort definition is not valid: " + "; ".join(
            f"`{path or 'definition'}`: {message.rstrip('.')}" for path, message in problems) + ".",
            expression=tuple(path or "definition" for path, _ in problems)) from None
    compiler = _Compiler(terminology)
    index = compiler.criterion(data["index"], "index") if "index" in data else None
    criteria = compiler.criterion(data["criteria"], "criteria")
    if index is not None and index.window is not None:
        raise BadRequest("`index`: the index event cannot have a `within` window.", expression=("index",))
    needs_index = [path for path in compiler.relative if index is None]
    if needs_index:
        raise BadRequest(f"`{needs_index[0]}` is relative to the index event, but the definition has no `index`.",
                         expression=(needs_index[0],))
    return Definition(criteria, index, source)


MAX_DEPTH = 40  # JSON levels: deep enough for any real question, shallow enough for the validator's recursion


def _depth(value, limit: int = MAX_DEPTH + 1) -> int:
    """How deep ``value`` nests, counted no further than ``limit``."""
    if limit <= 0 or not isinstance(value, (dict, list)):
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(child, limit - 1) for child in children), default=0)


class _Compiler:
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
            value = f"{_COMPARATORS[body['comparator']]}{body['value']:g}"
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
            params.append(_component(_ZYGOSITY_CODE, LOINC, _ZYGOSITY[body["zygosity"]]))
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
