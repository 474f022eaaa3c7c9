"""batch and transaction: POST [base] with a Bundle (https://hl7.org/fhir/R4/http.html#transaction)."""

from fhir_server import http
from fhir_server.interactions import batch, transaction
from fhir_server.interactions.bundle_entries import entries_of
from fhir_server.pipeline import Context, FhirRequest, FhirResponse


def process(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    bundle_type, entries = entries_of(http.json_body(request), context.settings.max_bundle_entries)
    if bundle_type == "transaction":
        return transaction.run(request, entries, context)
    return batch.run(request, entries, context)
