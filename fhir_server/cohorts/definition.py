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

Each event compiles to FHIR searches on the resource types that record it (``criteria.py``).
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from fhir_server.cohorts.criteria import COMPARATORS, SEXES, ZYGOSITY, All, Any, Compiler, Criterion, Event, Not
from fhir_server.errors import BadRequest

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
    comparator = fields.String(validate=validate.OneOf(list(COMPARATORS)))
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
    zygosity = fields.String(validate=validate.OneOf(list(ZYGOSITY)))
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
    compiler = Compiler(terminology)
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
