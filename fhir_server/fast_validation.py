"""A fast proof that a resource is valid, compiled from fhir.resources' own models; what it cannot prove goes to
fhir.resources.

Validating a resource through fhir.resources builds a model object for every element and runs two Python
validators on each (100-220 µs for the resources a hospital loads, the largest share of an import's time). The
rules those validators apply are few and declared on the models: the keys an element may have, the type of each
(one or a list), which are required, and which choices (``value[x]``) allow one member at most. A ``Shape`` per
model class checks a resource against exactly those rules on the plain JSON, and each primitive value through the
same pydantic validator the model uses for it.

The proof only ever answers "valid" or "not proven": anything it does not know to be valid (a key it does not
expect, a null, an empty list, a primitive's ``_extension`` sibling, a class with validators of its own) is not
proven, and ``resources.validate`` then asks fhir.resources, which also writes every error message. So the server
accepts and rejects exactly what fhir.resources does as long as every proof is right; ``tests/test_fast_validation``
checks that over the official R4 examples and systematic mutations of them.
"""

from __future__ import annotations

import types
import typing
from typing import Callable

import pydantic

Check = Callable[[object], bool]
ModelFor = Callable[[str], type | None]  # a resource type's model class, or None where there is none

# Validators every fhir.resources model has; the Shape applies their rules. A class with any other is not proven.
_BASE_VALIDATORS = frozenset({"reject_null_complex_elements", "validate_after_model_construction"})
# Valid strings remembered per primitive type (codes, systems and units repeat endlessly): short ones only, and at
# most this many, so that the memory held stays small (a few MB) whatever is loaded.
_CACHED_VALUES = 10_000
_CACHED_LENGTH = 100


class Prover:
    """Shapes of the model classes, compiled on first use (a process that loads Observations compiles only the
    classes an Observation can hold)."""

    def __init__(self, model_for: ModelFor):
        self._model_for = model_for
        self._shapes: dict[type, Shape | None] = {}
        self._resources: dict[str, Shape | None] = {}
        self._primitives: dict[object, Check] = {}

    def proves_valid(self, resource: dict) -> bool:
        shape = self.resource_shape(resource.get("resourceType"))
        return shape is not None and shape.check(resource)

    def resource_shape(self, resource_type: object) -> Shape | None:
        if not isinstance(resource_type, str):
            return None
        if resource_type not in self._resources:
            model = self._model_for(resource_type)
            usable = model is not None and model.has_resource_base() and model.__resource_type__ == resource_type
            self._resources[resource_type] = self.shape(model) if usable else None
        return self._resources[resource_type]

    def shape(self, model: type) -> Shape | None:
        if model not in self._shapes:
            validators = set(model.__pydantic_decorators__.model_validators) | set(
                model.__pydantic_decorators__.field_validators)
            shape = None
            if not validators - _BASE_VALIDATORS:
                shape = Shape(model.__resource_type__ if model.has_resource_base() else None)
                shape.compile(model, self)  # nested classes are compiled when first met, not now
            self._shapes[model] = shape  # published complete: another thread may be checking
        return self._shapes[model]

    def primitive(self, annotation: object) -> Check:
        if annotation not in self._primitives:
            self._primitives[annotation] = _primitive_check(pydantic.TypeAdapter(annotation))
        return self._primitives[annotation]


class Shape:
    """What one model class allows, as checks over plain JSON."""

    def __init__(self, resource_type: str | None):
        self.resource_type = resource_type
        self.fields: dict[str, Check] = {}
        self.required: frozenset[str] = frozenset()
        self.choices: tuple[tuple[frozenset[str], bool], ...] = ()

    def compile(self, model: type, prover: Prover) -> None:
        instance = model.model_construct()
        required = [info.alias or name for name, info in model.model_fields.items() if info.is_required()]
        aliases = model.get_alias_mapping()  # element name -> field name
        names = {field: element for element, field in aliases.items()}
        # Required primitives may be absent when their `_name` extension is there; only a present value is proven.
        required += [element for element, _ in instance.get_required_fields()]
        self.required = frozenset(required)
        self.choices = tuple((frozenset(names[field] for field in fields),
                              model.model_fields[fields[0]].json_schema_extra["one_of_many_required"] is True)
                             for fields in instance.get_one_of_many_fields().values())
        for field, element in names.items():
            check = _field_check(model.model_fields[field].annotation, prover)
            if check is not None:
                self.fields[element] = check

    def check(self, data: object) -> bool:
        if type(data) is not dict:
            return False
        fields = self.fields
        for key, value in data.items():
            check = fields.get(key)
            if check is None:
                if key == "resourceType" and self.resource_type is not None and value == self.resource_type:
                    continue
                return False
            if not check(value):
                return False
        if not self.required <= data.keys():
            return False
        for members, required in self.choices:
            present = len(members.intersection(data))
            if present > 1 or (required and not present):
                return False
        return True


def _field_check(annotation: object, prover: Prover) -> Check | None:
    """How one field's value is proven valid: one value or a non-empty list of them, none null; None for a field
    the proof leaves to fhir.resources."""
    inner = _without_none(annotation)
    many = typing.get_origin(inner) in (list, typing.List)
    item = _without_none(typing.get_args(inner)[0]) if many else inner
    if hasattr(item, "get_model_klass"):
        model = item.get_model_klass()
        if model.__name__ == "Resource":  # any resource, by its resourceType (contained, Bundle.entry.resource)
            one = _any_resource(prover)
        elif model.__name__ in ("Element", "FHIRPrimitiveExtension"):
            return None
        else:
            one = _complex(model, prover)
    elif typing.get_origin(item) is typing.Annotated or item is bool:
        one = prover.primitive(item)
    else:
        return None  # fhir_comments, a str or a list of them
    if not many:
        return lambda value: value is not None and type(value) is not list and one(value)
    return lambda values: type(values) is list and len(values) > 0 and all(
        value is not None and one(value) for value in values)


def _complex(model: type, prover: Prover) -> Check:
    def check(value: object) -> bool:
        shape = prover.shape(model)
        return shape is not None and shape.check(value)
    return check


def _any_resource(prover: Prover) -> Check:
    def check(value: object) -> bool:
        if type(value) is not dict:
            return False
        shape = prover.resource_shape(value.get("resourceType"))
        return shape is not None and shape.check(value)
    return check


def _without_none(annotation: object) -> object:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [member for member in typing.get_args(annotation) if member is not type(None)]
        if len(members) == 1:
            return members[0]
    return annotation


def _primitive_check(adapter: pydantic.TypeAdapter) -> Check:
    accepted: set[str] = set()

    def check(value: object) -> bool:
        if type(value) is str and value in accepted:
            return True
        try:
            adapter.validate_python(value)
        except Exception:  # whatever the validator raises, the value is not proven; fhir.resources will say why
            return False
        if type(value) is str and len(value) <= _CACHED_LENGTH:
            if len(accepted) >= _CACHED_VALUES:
                accepted.clear()
            accepted.add(value)
        return True
    return check
