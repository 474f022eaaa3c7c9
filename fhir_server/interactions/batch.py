"""batch: every entry processed on its own, each failure reported in its entry
(https://hl7.org/fhir/R4/http.html#transaction)."""

from __future__ import annotations

import logging

from fhir_server import bundles
from fhir_server.errors import FhirError, InternalError
from fhir_server.interactions.bundle_entries import entry_request, error_entry, response_entry
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

log = logging.getLogger(__name__)


def run(request: FhirRequest, entries: list[dict], context: Context) -> FhirResponse:
    results = []
    for index, entry in enumerate(entries):
        try:
            entry_response = context.pipeline.handle(entry_request(index, entry, request), context)
            results.append(response_entry(entry_response))
        except FhirError as error:
            results.append(error_entry(error.at(f"Bundle.entry[{index}]")))
        except Exception:
            log.exception("batch entry %d failed", index)
            results.append(error_entry(InternalError()))
    return FhirResponse(200, bundles.bundle("batch-response", results))
