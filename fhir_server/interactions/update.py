"""update, update-as-create and conditional update: PUT (https://hl7.org/fhir/R4/http.html#update)."""

from fhir_server import http
from fhir_server.errors import BadRequest, Conflict, PreconditionFailed
from fhir_server.interactions.conditional import matching_ids
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement
from fhir_server.storage.repository import CREATED, UNCHANGED, UPDATED


def update(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    resource_type, id_ = args["type"], args["id"]
    resource = http.resource_body(request, resource_type)
    body_id = resource.get("id")
    if body_id is None:
        raise BadRequest("The resource in an update must have an `id` equal to the one in the URL.",
                         expression=(f"{resource_type}.id",))
    if body_id != id_:
        raise Conflict(f"The body's id `{body_id}` differs from the URL's id `{id_}`.",
                       expression=(f"{resource_type}.id",))
    http.prepare_index_rows(request, context)
    with context.transaction() as transaction:
        return _store(request, transaction, resource, id_)


def conditional_update(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    """PUT [base]/[type]?criteria: no match creates, one match updates it, several give 412."""
    resource_type = args["type"]
    resource = http.resource_body(request, resource_type)
    if not request.params:
        raise BadRequest(f"PUT on `{resource_type}` needs an id in the URL or search criteria.")
    body_id = resource.get("id")
    http.prepare_index_rows(request, context)
    with context.transaction() as transaction:
        matches = matching_ids(transaction, resource_type, request.params)
        if len(matches) > 1:
            raise PreconditionFailed(f"The criteria match more than one `{resource_type}`.")
        if matches:
            if body_id is not None and body_id != matches[0]:
                raise BadRequest(f"The body's id `{body_id}` differs from the matching resource `{matches[0]}`.")
            return _store(request, transaction, resource, matches[0])
        existing = body_id and transaction.session.current(resource_type, http.check_id(body_id))
        if existing and not existing.deleted:
            raise Conflict(f"`{resource_type}/{body_id}` exists but does not match the criteria.")
        return _store(request, transaction, resource, body_id)


def _store(request: FhirRequest, transaction: Context, resource: dict, id_: str | None) -> FhirResponse:
    resource_type = resource["resourceType"]
    if id_ is not None:
        confinement.require_writable(transaction, resource_type, id_, "u")
    if id_ is None:
        version, outcome = transaction.session.create(resource, id_=request.assigned_id,
                                                       prepared=request.index_rows), CREATED
    else:
        version, outcome = transaction.session.update(resource, id_, if_match=http.if_match(request),
                                                      prepared=request.index_rows)
    confinement.require_writable(transaction, resource_type, version.id, "u")
    message = {CREATED: f"Created `{version.reference}`.", UPDATED: f"Updated `{version.reference}`.",
               UNCHANGED: f"`{version.reference}` is unchanged: no new version."}[outcome]
    response = http.write_response(request, 201 if outcome == CREATED else 200, version, message)
    response.outcome = outcome
    return response
