"""vread: GET [base]/[type]/[id]/_history/[vid] (https://hl7.org/fhir/R4/http.html#vread)."""

from fhir_server import http
from fhir_server.errors import NotFound
from fhir_server.search import elements
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement


def vread(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    version_text = args["version"]
    if not version_text.isdigit():
        raise NotFound(f"Version `{version_text}` of `{args['type']}/{args['id']}` was not found.")
    with context.reading() as connection:
        version = context.repository.vread(args["type"], args["id"], int(version_text), connection)
        confinement.require_visible(context.access, context.search, connection, args["type"], args["id"])
    if http.not_modified(request, version):
        return FhirResponse(304, None, http.resource_headers(version), version)
    response = http.resource_response(version)
    subset = elements.subset_of(request.params)
    if not subset.whole:
        response.body = elements.shape(version.body, subset)
    return response
