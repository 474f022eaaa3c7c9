"""$reindex: rebuild the search index of stored resources, for the whole server or one type.

Run it after storing SearchParameters, so resources written before them become searchable by them
(as HAPI FHIR's $reindex). It answers when done, with a Parameters resource that says how many
resources were reindexed; for very large databases `fhir-server reindex` shows progress instead.
"""

from __future__ import annotations

from fhir_server import json_codec
from fhir_server.errors import BadRequest
from fhir_server.operations import operation
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.storage.reindex import reindex as reindex_stored


@operation("reindex", definition="http://hl7.org/fhir/OperationDefinition/Resource-reindex",
           levels=("system", "type"))
def reindex(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    if context.session is not None:
        raise BadRequest("`$reindex` runs in transactions of its own; it cannot be part of a transaction Bundle.")
    count = reindex_stored(context.repository, args.get("type"))
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "count", "valueInteger": count}]}
    return FhirResponse(200, json_codec.dump(parameters))
