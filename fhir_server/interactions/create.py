"""create and conditional create: POST [base]/[type] (https://hl7.org/fhir/R4/http.html#create).

The server assigns the id; an id in the body is ignored, as the spec says. With If-None-Exist:
no match creates, one match answers 200 with it, several give 412.
"""

from fhir_server import http
from fhir_server.errors import PreconditionFailed
from fhir_server.interactions.conditional import matching_ids, parse_criteria
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement


def create(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    resource_type = args["type"]
    resource = http.resource_body(request, resource_type)
    http.prepare_index_rows(request, context)
    criteria = request.headers.get("If-None-Exist")
    with context.transaction() as transaction:
        if criteria:
            matches = matching_ids(transaction, resource_type, parse_criteria(criteria))
            if len(matches) > 1:
                raise PreconditionFailed(f"If-None-Exist `{criteria}` matches more than one `{resource_type}`.")
            if matches:
                existing = transaction.session.current(resource_type, matches[0])
                return http.write_response(request, 200, existing, "The resource exists already; nothing was created.")
        version = transaction.session.create(resource, id_=request.assigned_id, prepared=request.index_rows)
        confinement.require_writable(transaction, resource_type, version.id, "c")
    return http.write_response(request, 201, version, f"Created `{version.reference}`.")
