"""patch with JSON Patch (RFC 6902): PATCH [base]/[type]/[id] (https://hl7.org/fhir/R4/http.html#patch).

A patch that cannot be applied, or whose result is not a valid resource of the same type and id,
is unprocessable (422). FHIRPath Patch is not supported (415).
"""

from __future__ import annotations

import jsonpatch
import jsonpointer

from fhir_server import http, json_codec, resources
from fhir_server.errors import (BadRequest, Gone, InvalidResource, NotFound, PreconditionFailed, Unprocessable,
                                UnsupportedMediaType)
from fhir_server.interactions.conditional import matching_ids
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement


def patch(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    operations = _operations(request)
    with context.transaction() as transaction:
        return _apply(request, transaction, operations, args["type"], args["id"])


def conditional_patch(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    """PATCH [base]/[type]?criteria: exactly one match is patched; none is 404, several 412."""
    resource_type = args["type"]
    operations = _operations(request)
    if not request.params:
        raise BadRequest(f"PATCH on `{resource_type}` needs an id in the URL or search criteria.")
    with context.transaction() as transaction:
        matches = matching_ids(transaction, resource_type, request.params)
        if not matches:
            raise NotFound(f"No `{resource_type}` matches the criteria.")
        if len(matches) > 1:
            raise PreconditionFailed(f"The criteria match more than one `{resource_type}`.")
        return _apply(request, transaction, operations, resource_type, matches[0])


def _operations(request: FhirRequest) -> list:
    content_type = http.media_type(request.headers.get("Content-Type"))
    if content_type != http.JSON_PATCH:
        raise UnsupportedMediaType(
            f"PATCH takes `{http.JSON_PATCH}`; `{content_type or 'no Content-Type'}` is not supported."
        )
    operations = json_codec.parse(request.body)
    if not isinstance(operations, list):
        raise BadRequest("A JSON Patch document is an array of operations.")
    return operations


def _apply(request: FhirRequest, transaction: Context, operations: list, resource_type: str,
           id_: str) -> FhirResponse:
    current = transaction.session.current(resource_type, id_)
    if current is None:
        raise NotFound(f"Resource `{resource_type}/{id_}` was not found.")
    if current.deleted:
        raise Gone(f"Resource `{resource_type}/{id_}` was deleted.")
    confinement.require_writable(transaction, resource_type, id_, "u")
    expected = http.if_match(request)
    if expected is not None and expected != current.version_id:
        raise PreconditionFailed(
            f"If-Match asked for version `{expected}` of `{resource_type}/{id_}`, but it has version "
            f"`{current.version_id}`."
        )
    try:
        patched = jsonpatch.apply_patch(json_codec.parse(current.body), operations)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as error:
        raise Unprocessable(f"The patch cannot be applied to `{resource_type}/{id_}`: {error}") from None
    except (TypeError, KeyError, AttributeError) as error:
        raise BadRequest(f"The JSON Patch document is malformed: {error}") from None
    if not isinstance(patched, dict) or patched.get("resourceType") != resource_type or patched.get("id") != id_:
        raise Unprocessable("A patch must not change the resource's type or id.")
    try:
        resources.validate(patched)
    except InvalidResource as error:
        raise Unprocessable(error.message, issues=error.issues) from None
    version, _ = transaction.session.update(patched, id_, if_match=current.version_id, method="PATCH")
    confinement.require_writable(transaction, resource_type, id_, "u")
    return http.write_response(request, 200, version, f"Patched `{version.reference}`.")
