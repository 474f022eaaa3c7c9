"""FHIR R4 resource definitions and validation; the only module that imports fhir.resources.

fhir.resources' R4B models validate R4 JSON (https://hl7.org/fhir/R4/json.html). The R4 resource
types come from the official definitions (``definitions/r4.json``); the server supports those
that have an R4B model, which leaves out the R4-only MedicinalProduct*, Substance* specification
and *EvidenceSynthesis types.
"""

from __future__ import annotations

import functools
import re

import pydantic
from fhir.resources.R4B import fhirtypes, get_fhir_model_class

from fhir_server.definitions import r4
from fhir_server.errors import InvalidResource, Issue
from fhir_server.fast_validation import Prover


_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")  # the id datatype: https://hl7.org/fhir/R4/datatypes.html#id


def is_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None


@functools.cache
def _model(resource_type: str):
    try:
        return get_fhir_model_class(resource_type)
    except (KeyError, ValueError, AttributeError, ImportError):
        return None


@functools.cache
def supported_resource_types() -> tuple[str, ...]:
    """R4 resource types the server stores: those an R4B model can validate. The models are named, not imported:
    importing all of them takes two seconds, and a process needs the few it validates."""
    return tuple(name for name in r4()["resourceTypes"] if hasattr(fhirtypes, name + "Type"))


@functools.cache
def unsupported_resource_types() -> tuple[str, ...]:
    return tuple(name for name in r4()["resourceTypes"] if name not in _supported_set())


def is_supported(resource_type: str) -> bool:
    return resource_type in _supported_set()


@functools.cache
def _supported_set() -> frozenset[str]:
    return frozenset(supported_resource_types())


def validate(resource: object, where: str = "") -> None:
    """Raise InvalidResource, with the validator's messages and element paths, unless valid R4.

    ``where`` prefixes each path, e.g. ``Bundle.entry[3].resource`` for a Bundle entry.
    """
    if not isinstance(resource, dict):
        raise InvalidResource("The body must be a JSON object holding a FHIR resource.")
    resource_type = resource.get("resourceType")
    if not isinstance(resource_type, str):
        raise InvalidResource("The resource has no `resourceType`.", expression=(where or "resourceType",))
    if not is_supported(resource_type):
        raise InvalidResource(f"`{resource_type}` is not a FHIR R4 resource type this server supports.")
    if _prover.proves_valid(resource):
        return
    try:
        _model(resource_type).model_validate(resource)
    except pydantic.ValidationError as error:
        issues = [_issue(resource_type, detail, where) for detail in error.errors(include_url=False)]
        raise InvalidResource(issues[0].diagnostics, issues=issues) from None
    except KeyError:
        # fhir.resources looks an inline resource's type up in a table, and fails so when it is not there.
        raise InvalidResource(f"Invalid `{resource_type}`: a resource inside it (contained, Bundle.entry.resource, "
                              "Parameters.parameter.resource) has a `resourceType` that is not an R4 resource "
                              "type.") from None
    except (ValueError, TypeError, RecursionError) as error:
        # fhir.resources raises plain errors for a few root-level checks.
        raise InvalidResource(f"Invalid `{resource_type}`: {error}") from None
    except AttributeError:
        # fhir.resources' url check calls a string method on whatever it was given (a boolean `valueUrl`).
        raise InvalidResource(f"Invalid `{resource_type}`: a url element holds something other than a "
                              "string.") from None


_prover = Prover(_model)


def _issue(resource_type: str, detail: dict, where: str) -> Issue:
    path = _element_path(where or resource_type, detail.get("loc", ()))
    message = str(detail.get("msg", "invalid value")).strip()
    # Pydantic prefixes custom validators' messages; the prefix tells a client nothing.
    message = message.removeprefix("Value error, ")
    return Issue("error", "structure" if detail.get("type") == "extra_forbidden" else "value",
                 f"{path}: {message}", (path,))


def _element_path(root: str, location: tuple) -> str:
    path = root
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part not in ("__root__", "resource_type"):
            path += f".{part}"
    return path
