"""What a bulk `$export` kick-off asks for (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#query-parameters),
checked in full before a job exists, and the search query that selects each type's resources.

`_type` limits the types; `_since` keeps resources changed at or after an instant; each `_typeFilter`
is a search (`Observation?code=...`) and several for one type are OR'd; the Patient and Group levels keep
the resources in the Patient compartment of every patient, or of the group's member patients.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from urllib.parse import parse_qsl

from fhir_server import http, json_codec, resources
from fhir_server.errors import BadRequest, Forbidden
from fhir_server.pipeline import Context, FhirRequest
from fhir_server.search import compartments
from fhir_server.security import confinement
from fhir_server.search.query import AllOf, AnyOf, Criterion, Every, Has, SearchQuery
from fhir_server.storage.instants import parse_fhir_instant

SYSTEM, PATIENT, GROUP = "system", "patient", "group"
NDJSON_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
PARAMETERS = ("_outputFormat", "_since", "_type", "_typeFilter")
# A new query starts where a comma is followed by `Type?`; other commas belong to the query (OR'd values).
_NEXT_QUERY = re.compile(r",(?=[A-Z][A-Za-z]*\?)")


@dataclass(frozen=True)
class ExportRequest:
    level: str  # system, patient or group
    types: list[str]
    since: str | None = None
    type_filters: dict[str, list[str]] = field(default_factory=dict)  # type -> queries (what follows `Type?`)
    group: str | None = None  # the Group's id, at the group level
    requester: str | None = None  # who started it (Access.requester): only they and administrators may poll it

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, stored: dict) -> "ExportRequest":
        return cls(**stored)


def parse(request: FhirRequest, context: Context, level: str, group: str | None = None) -> ExportRequest:
    """The kick-off's parameters, from the URL (GET) or a Parameters body (POST); a 400 for any it cannot honour."""
    if http.preference(request, "respond-async") is None:
        raise BadRequest("A bulk export runs asynchronously: send the header `Prefer: respond-async`.")
    parameters = _parameters(request)
    unknown = sorted({name for name, _ in parameters} - set(PARAMETERS))
    if unknown:
        raise BadRequest(f"`$export` does not support the parameter `{unknown[0]}`; it supports "
                         f"{', '.join(PARAMETERS)}.", expression=(unknown[0],))
    values = {name: [value for key, value in parameters if key == name] for name in PARAMETERS}
    return from_values(context, level, values, group)


def from_values(context: Context, level: str, values: dict[str, list[str]], group: str | None = None) -> ExportRequest:
    """The export the parameters (name -> the values given) ask for; a BadRequest naming what is wrong."""
    for output_format in values.get("_outputFormat", ()):
        if output_format not in NDJSON_FORMATS:
            raise BadRequest(f"`_outputFormat={output_format}`: this server exports {NDJSON_FORMATS[0]} only.",
                             expression=("_outputFormat",))
    since = _single(values.get("_since", []), "_since")
    if since is not None and parse_fhir_instant(since) is None:
        raise BadRequest(f"`_since={since}` is not a FHIR instant.", expression=("_since",))
    # The token's reach: everywhere for every type but the audit trail (only administrators read that).
    types = [kind for kind in _types(values.get("_type", []), level) if context.access.reach(kind, "r") is not None]
    type_filters = _type_filters(values.get("_typeFilter", []), types, bool(values.get("_type")), context)
    return ExportRequest(level, types, since, type_filters, group)


def query(context: Context, export: ExportRequest, resource_type: str) -> SearchQuery:
    """The search that selects the ``resource_type`` resources this export holds."""
    found = context.search.parse(resource_type, [("_lastUpdated", f"ge{export.since}")] if export.since else [],
                                 strict=True)
    filters = [context.search.parse(resource_type, parse_qsl(raw, keep_blank_values=True), strict=True).criteria
               for raw in export.type_filters.get(resource_type, ())]
    if len(filters) == 1:
        found.criteria.extend(filters[0])
    elif filters:
        found.criteria.append(AnyOf(tuple(AllOf(tuple(criteria)) for criteria in filters)))
    if export.level != SYSTEM:
        owners = Every() if export.level == PATIENT else \
            Has("Group", "member", Criterion("_id", "id", None, (export.group,)))
        found.criteria.append(compartments.membership_of_any("Patient", owners, resource_type))
    return found


def _parameters(request: FhirRequest) -> list[tuple[str, str]]:
    if request.method == "GET" or not request.body:
        return list(request.params)
    body = json_codec.parse(request.body)
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest("A POST `$export` takes a Parameters resource.")
    found = []
    for parameter in body.get("parameter") or []:
        value = next((value for key, value in parameter.items() if key.startswith("value")), None)
        if not isinstance(parameter.get("name"), str) or not isinstance(value, str):
            raise BadRequest("Each parameter of `$export` has a name and a text value (valueString, valueInstant).")
        found.append((parameter["name"], value))
    return found + [(key, value) for key, value in request.params if key in PARAMETERS]


def _single(values: list[str], name: str) -> str | None:
    if len(values) > 1:
        raise BadRequest(f"`{name}` may be given once.", expression=(name,))
    return values[0] if values else None


def exportable_types(level: str) -> list[str]:
    """Every type an export at this level can hold: all supported types, or those of the Patient compartment."""
    if level == SYSTEM:
        return list(resources.supported_resource_types())
    return [kind for kind in resources.supported_resource_types() if kind in compartments.resource_types("Patient")]


def _types(raw_values: list[str], level: str) -> list[str]:
    possible = exportable_types(level)
    if not raw_values:
        return possible
    wanted = [kind.strip() for raw in raw_values for kind in raw.split(",") if kind.strip()]
    for kind in wanted:
        if not resources.is_supported(kind):
            raise BadRequest(f"`_type`: `{kind}` is not a resource type this server supports.", expression=("_type",))
        if kind not in possible:
            raise BadRequest(f"`_type`: `{kind}` resources are never in a patient's compartment, so a "
                             f"{level} export cannot hold them.", expression=("_type",))
    return [kind for kind in possible if kind in wanted]  # in a fixed order, each once


def _type_filters(raw_values: list[str], types: list[str], typed: bool, context: Context) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for raw in raw_values:
        for search in _NEXT_QUERY.split(raw):
            resource_type, mark, text = search.partition("?")
            if not mark or not resources.is_supported(resource_type):
                raise BadRequest(f"`_typeFilter={search}` is not a search of the form `Type?parameter=value`.",
                                 expression=("_typeFilter",))
            if resource_type not in types:
                why = "not among `_type`" if typed else "not a type this export holds"
                raise BadRequest(f"`_typeFilter={search}`: `{resource_type}` is {why}.", expression=("_typeFilter",))
            # Checked now, so a mistake is a 400 at kick-off rather than a failed job, and so is a chain or
            # `_has` through what the requester may not search (the job itself runs unrestricted).
            query = context.search.parse(resource_type, parse_qsl(text, keep_blank_values=True), strict=True)
            before = list(query.criteria)
            confinement.confine(context.access, query)
            if query.criteria != before:
                raise Forbidden(f"`_typeFilter={search}` searches resources the token may not search.")
            filters.setdefault(resource_type, []).append(text)
    return filters
