"""delete and conditional delete (https://hl7.org/fhir/R4/http.html#delete).

Deleting records a version without a body; reads then answer 410 and an update re-creates the
resource. Deleting what does not exist, or is deleted already, succeeds with nothing to do.
"""

from fhir_server import http, json_codec
from fhir_server.errors import PreconditionFailed, information
from fhir_server.interactions.conditional import matching_ids
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement


def delete(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    with context.transaction() as transaction:
        confinement.require_writable(transaction, args["type"], args["id"], "d")
        version = transaction.session.delete(args["type"], args["id"], if_match=http.if_match(request))
    return _deleted(request, version, f"`{args['type']}/{args['id']}`")


def conditional_delete(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    """DELETE [base]/[type]?criteria: deletes the single match; several matches give 412."""
    resource_type = args["type"]
    with context.transaction() as transaction:
        matches = matching_ids(transaction, resource_type, request.params)
        if len(matches) > 1:
            raise PreconditionFailed(f"The criteria match more than one `{resource_type}`; nothing was deleted.")
        if matches:
            confinement.require_writable(transaction, resource_type, matches[0], "d")
        version = transaction.session.delete(resource_type, matches[0]) if matches else None
    return _deleted(request, version, f"the `{resource_type}` matching the criteria")


def _deleted(request: FhirRequest, version, what: str) -> FhirResponse:
    headers = {"ETag": f'W/"{version.version_id}"'} if version else {}
    message = f"Deleted {what}." if version else f"Nothing to delete: {what} does not exist."
    if http.preference(request, "return") == "OperationOutcome":
        return FhirResponse(200, json_codec.dump(information(message)), headers, version)
    return FhirResponse(204, None, headers, version)
