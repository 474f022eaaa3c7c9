"""read: GET [base]/[type]/[id] (https://hl7.org/fhir/R4/http.html#read)."""

from fhir_server import http
from fhir_server.search import elements
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement


def read(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    with context.reading() as connection:
        version = context.repository.read(args["type"], args["id"], connection)
        confinement.require_visible(context.access, context.search, connection, args["type"], args["id"])
    if http.not_modified(request, version):
        return FhirResponse(304, None, http.resource_headers(version), version)
    response = http.resource_response(version)
    subset = elements.subset_of(request.params)
    if not subset.whole:
        response.body = elements.shape(version.body, subset)
    return response
