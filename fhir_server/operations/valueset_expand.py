"""ValueSet $expand: the codes of a value set, filtered by text and paged with ``offset`` and ``count``
(https://hl7.org/fhir/R4/valueset-operation-expand.html).

The value set is a cohort value set by ``url``, a ValueSet stored here (by ``url`` or the instance
called), or one sent in the body (``valueSet``); composes are evaluated as ``terminology/compose.py``
says. ``filter`` keeps codes whose display or a designation has a word starting with each of the
filter's words, or whose code starts with the filter (case-insensitive).
"""

from __future__ import annotations

import time
import uuid

from fhir_server import json_codec
from fhir_server.errors import BadRequest, NotFound
from fhir_server.operations import codings, operation
from fhir_server.operations.inputs import Inputs
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.storage.instants import format_instant
from terminology import valuesets

DECLARED = {"url": "uri", "valueSet": "Resource", "valueSetVersion": "string", "filter": "string",
            "count": "integer", "offset": "integer", "activeOnly": "boolean", "includeDesignations": "boolean",
            "displayLanguage": "code"}


@operation("expand", definition="http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
           levels=("type", "instance"), resource_type="ValueSet", methods=("GET", "POST"))
def expand(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    inputs = Inputs(request, DECLARED, "$expand")
    value_set = value_set_of(inputs, args, context)
    offset, count = inputs.get("offset", 0), inputs.get("count")
    if offset < 0 or (count is not None and count < 0):
        raise BadRequest("`offset` and `count` cannot be negative.", expression=("offset" if offset < 0 else "count",))
    service = context.terminology
    members = service.expand(value_set, lambda url: codings.stored_by_url(context, "ValueSet", url))
    text = inputs.get("filter")
    active_only = inputs.get("activeOnly", False)
    concepts = _concepts(service, members, text, active_only)
    if count is None and len(concepts) - offset > context.settings.max_expansion:
        raise BadRequest(f"The expansion has {len(concepts)} codes, more than this server returns at once "
                         f"({context.settings.max_expansion}); page it with `count` and `offset`.",
                         expression=("count",))
    page = concepts[offset:offset + count if count is not None else None]
    language, designations = inputs.get("displayLanguage"), inputs.get("includeDesignations", False)
    contains = [_contains(system, version, concept, language, designations) for system, version, concept in page]
    used = [{"name": name, value_key: value} for name, value_key, value in (
        ("filter", "valueString", text), ("offset", "valueInteger", offset if inputs.has("offset") else None),
        ("count", "valueInteger", count), ("activeOnly", "valueBoolean", active_only if inputs.has("activeOnly")
                                                                            else None)) if value is not None]
    expansion = {"identifier": f"urn:uuid:{uuid.uuid4()}", "timestamp": format_instant(time.time_ns() // 1_000_000),
                 "total": len(concepts), "offset": offset, **({"parameter": used} if used else {}),
                 **({"contains": contains} if contains else {})}
    kept = {key: value_set[key] for key in ("id", "url", "version", "name", "title", "status") if key in value_set}
    resource = {"resourceType": "ValueSet", "status": "active", **kept, "expansion": expansion}
    return FhirResponse(200, json_codec.dump(resource))


def value_set_of(inputs: Inputs, args: dict, context: Context) -> dict:
    """The ValueSet to work on: the instance called, the one in the body, or the one ``url`` names."""
    given = inputs.get("valueSet")
    url = inputs.get("url")
    if "id" in args:
        return codings.stored(context, "ValueSet", args["id"])
    if given is not None:
        if given.get("resourceType") != "ValueSet":
            raise BadRequest("`valueSet` must hold a ValueSet resource.", expression=("valueSet",))
        return given
    if not url:
        raise BadRequest("Name the value set with `url`, send it as `valueSet`, or call the operation on a stored "
                         "ValueSet.", expression=("url",))
    if inputs.get("valueSetVersion"):
        url = f"{url.split('|', 1)[0]}|{inputs.get('valueSetVersion')}"
    cohort = valuesets.by_url(url)
    if cohort is not None and url.partition("|")[2] in ("", valuesets.VERSION):
        return {"url": cohort.url, "version": valuesets.VERSION, "name": cohort.name, "title": cohort.title}
    found = codings.stored_by_url(context, "ValueSet", url)
    if found is None:
        raise NotFound(f"There is no ValueSet `{url}` here: neither a cohort value set nor a stored one.")
    return found


def _concepts(service, members, text: str | None, active_only: bool) -> list[tuple]:
    """(system, version, Concept) of the members that pass ``filter`` and ``activeOnly``."""
    words = text.lower().split() if text else []
    prefix = text.strip().upper() if text else ""
    found = []
    systems = service.terminology.systems
    for system, code in members:
        code_system = systems.get(system)
        concept = code_system.get(code) if code_system is not None else None
        if concept is None or (active_only and not concept.active):
            continue
        if words and not (code.upper().startswith(prefix) or _words_match(words, concept)):
            continue
        found.append((system, code_system.version, concept))
    return found


def _words_match(words: list[str], concept) -> bool:
    for text in (concept.display, *(text for _, text in concept.designations)):
        own = text.lower().replace(",", " ").replace("(", " ").split()
        if all(any(word_of.startswith(word) for word_of in own) for word in words):
            return True
    return False


def _contains(system: str, version: str, concept, language: str | None, designations: bool) -> dict:
    display = next((text for tag, text in concept.designations if language and tag.split("-")[0] == language),
                   concept.display)
    entry = {"system": system, "version": version, "code": concept.code, "display": display}
    if not concept.active:
        entry["inactive"] = True
    if designations and concept.designations:
        entry["designation"] = [{"language": tag, "value": text} for tag, text in concept.designations]
    return entry
