"""Patient $everything: a patient's whole record (https://hl7.org/fhir/R4/patient-operation-everything.html).

The patient, every resource in its compartment (the official Patient CompartmentDefinition), and the
resources those refer to (practitioners, organizations, medications, ...), as one searchset Bundle:
members as `match`, referenced resources as `include`. `_type` limits the types and `_since` the
last update; a record larger than FHIR_SERVER_MAX_EVERYTHING is a 400 asking for them, never a cut.
"""

from __future__ import annotations

from fhir_server import bundles, resources
from fhir_server.errors import BadRequest
from fhir_server.operations import operation
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.search import compartments
from fhir_server.search.results import Include
from fhir_server.storage.instants import parse_fhir_instant


@operation("everything", definition="http://hl7.org/fhir/OperationDefinition/Patient-everything",
           levels=("instance",), resource_type="Patient", methods=("GET", "POST"))
def everything(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    types = _types(request)
    since = request.param("_since")
    if since is not None and parse_fhir_instant(since) is None:
        raise BadRequest(f"`_since={since}` is not a FHIR instant.", expression=("_since",))
    limit = context.settings.max_everything
    with context.reading() as connection:
        context.search.refresh(connection)
        members = [context.repository.read("Patient", args["id"], connection)]
        for resource_type in types:
            query = context.search.parse(resource_type, [("_lastUpdated", f"ge{since}")] if since else [],
                                         strict=True)
            query.criteria.append(compartments.membership("Patient", args["id"], resource_type))
            found = context.search.search(connection, query, limit=limit + 1)
            members += [version for version, _ in found if version.reference != members[0].reference]
            if len(members) > limit:
                raise BadRequest(f"`Patient/{args['id']}` has more than {limit} resources; ask for fewer with "
                                 "`_type` or `_since`.")
        present = sorted({version.resource_type for version in members})
        referenced = context.search.included(connection, members, [Include(kind, "*", None, False, False)
                                                                   for kind in present], limit - len(members))
    entries = [bundles.entry(f"{request.base_url}/{version.reference}", version.body, search={"mode": "match"})
               for version in members]
    entries += [bundles.entry(f"{request.base_url}/{version.reference}", version.body, search={"mode": "include"})
                for version in referenced]
    return FhirResponse(200, bundles.bundle("searchset", entries, total=len(members)))


def _types(request: FhirRequest) -> list[str]:
    """The compartment's resource types this server supports, or those `_type` names."""
    in_compartment = [kind for kind in compartments.resource_types("Patient") if resources.is_supported(kind)]
    raw = request.param("_type")
    if raw is None:
        return in_compartment
    wanted = [kind.strip() for kind in raw.split(",") if kind.strip()]
    outside = [kind for kind in wanted if kind not in in_compartment and kind != "Patient"]
    if outside:
        raise BadRequest(f"`_type`: {', '.join(f'`{kind}`' for kind in outside)} never in a patient's compartment.",
                         expression=("_type",))
    return wanted
