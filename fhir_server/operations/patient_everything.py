"""Patient $everything: a patient's whole record (https://hl7.org/fhir/R4/patient-operation-everything.html).

The patient, every resource in its compartment (the official Patient CompartmentDefinition), and the
resources those refer to (practitioners, organizations, medications, ...), as searchset Bundles: members
as `match`, referenced resources as `include`. `_type` limits the types, `_since` the last update, and
`_count` the members per page; pages run in a fixed order (the patient, then by type and id) and continue
after a keyset cursor, as search pages do.
"""

from __future__ import annotations

from fhir_server import bundles, paging, resources
from fhir_server.errors import BadRequest, NotFound
from fhir_server.operations import operation
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement
from fhir_server.security.access import EVERYWHERE
from fhir_server.search import compartments
from fhir_server.search.results import Include
from fhir_server.storage.instants import parse_fhir_instant


@operation("everything", definition="http://hl7.org/fhir/OperationDefinition/Patient-everything",
           levels=("instance",), resource_type="Patient", methods=("GET", "POST"))
def everything(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    if context.access.reach("Patient", "r") not in (EVERYWHERE, args["id"]):
        raise NotFound(f"Resource `Patient/{args['id']}` was not found.")  # another patient's record: not there
    # Only the types the token may read; the compartment criterion below keeps them to this patient.
    types = [kind for kind in _types(request) if context.access.reach(kind, "r") is not None]
    since = request.param("_since")
    if since is not None and parse_fhir_instant(since) is None:
        raise BadRequest(f"`_since={since}` is not a FHIR instant.", expression=("_since",))
    count = max(1, paging.page_size(request, context.settings))
    cursor = paging.decode_cursor(paging.cursor(request), [False])
    after_type, after_id = (cursor.values if cursor else (None, None))
    if after_type is not None and after_type not in types:
        raise BadRequest(f"`{paging.CURSOR}` is not a cursor this server gave out for this record.",
                         expression=(paging.CURSOR,))
    members = []
    with context.reading() as connection:
        context.search.refresh(connection)
        context.repository.read("Patient", args["id"], connection)  # 404 or 410 before anything else
        for resource_type in types:
            if after_type is not None and types.index(resource_type) < types.index(after_type):
                continue
            query = context.search.parse(resource_type, [("_lastUpdated", f"ge{since}")] if since else [],
                                         strict=True)
            query.criteria.append(compartments.membership("Patient", args["id"], resource_type))
            within = paging.Cursor([after_id]) if resource_type == after_type else None
            found = context.search.search(connection, query, cursor=within, limit=count + 1 - len(members))
            members += [version for version, _ in found]
            if len(members) > count:
                break
        page, more = members[:count], len(members) > count
        present = sorted({version.resource_type for version in page})
        referenced = context.search.included(connection, page, [Include(kind, "*", None, False, False)
                                                                for kind in present], context.settings.max_included,
                                              confinement.include_filter(context.access, context.search,
                                                                         connection))
    entries = [bundles.entry(f"{request.base_url}/{version.reference}", version.body, search={"mode": "match"})
               for version in page]
    entries += [bundles.entry(f"{request.base_url}/{version.reference}", version.body, search={"mode": "include"})
                for version in referenced]  # included() leaves out the page's own members
    next_cursor = paging.encode_cursor([page[-1].resource_type, page[-1].id]) if more else None
    return FhirResponse(200, bundles.bundle("searchset", entries, links=paging.links(request, next_cursor)))


def _types(request: FhirRequest) -> list[str]:
    """The patient first, then the compartment's other types this server supports (or those `_type` names)."""
    in_compartment = [kind for kind in compartments.resource_types("Patient") if resources.is_supported(kind)]
    raw = request.param("_type")
    wanted = in_compartment if raw is None else [kind.strip() for kind in raw.split(",") if kind.strip()]
    outside = [kind for kind in wanted if kind not in in_compartment]
    if outside:
        raise BadRequest(f"`_type`: {', '.join(f'`{kind}`' for kind in outside)} never in a patient's compartment.",
                         expression=("_type",))
    return ["Patient"] + sorted(set(wanted) - {"Patient"})
