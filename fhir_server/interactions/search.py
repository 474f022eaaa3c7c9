"""search on a type: GET [base]/[type]?... and POST [base]/[type]/_search (https://hl7.org/fhir/R4/search.html).

Unknown parameters are ignored and reported in an OperationOutcome entry, or refused with 400
under `Prefer: handling=strict`. `_total=accurate|estimate` and `_summary=count` count the matches;
`_include` and `_revinclude` add entries with search mode `include`. Compartment search
(https://hl7.org/fhir/R4/http.html#vsearch) is the same search limited to one compartment.
"""

from __future__ import annotations

from fhir_server import bundles, http, json_codec, paging, resources
from fhir_server.errors import Issue, operation_outcome
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement
from fhir_server.search import compartments, elements
from fhir_server.search.query import Node


def search_type(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    return _search(request, context, args["type"], None)


def search_compartment(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    """GET [base]/[compartment]/[id]/[type]: a search limited to one compartment, e.g. a patient's record."""
    membership = compartments.membership(args["compartment"], args["id"], args["type"])
    return _search(request, context, args["type"], membership)


def _search(request: FhirRequest, context: Context, resource_type: str, within: Node | None) -> FhirResponse:
    with context.reading() as connection:
        context.search.refresh(connection)
        query = context.search.parse(resource_type, request.params, strict=http.strict_handling(request),
                                     base_url=request.base_url)
        if within is not None:
            query.criteria.append(within)
        confinement.confine(context.access, query)
        shape = context.search.result_parameters(resource_type, request.params, resources.is_supported)
        count = paging.page_size(request, context.settings)
        cursor = paging.decode_cursor(paging.cursor(request), [key.numeric for key in shape.sort])
        total = context.search.count(connection, query) if shape.summary == "count" or shape.total in (
            "accurate", "estimate") else None
        if shape.summary == "count":
            return FhirResponse(200, bundles.bundle("searchset", [], links=paging.links(request, None), total=total))
        found = context.search.search(connection, query, sort=shape.sort, cursor=cursor, limit=count + 1)
        rows, more = found[:count], len(found) > count
        if cursor is not None and cursor.backward:
            rows.reverse()  # fetched nearest-first, walking back from the cursor
        page = [version for version, _ in rows]
        extra = context.search.included(connection, page, shape.includes, context.settings.max_included,
                                        confinement.include_filter(context.access, context.search, connection))
    backward = cursor is not None and cursor.backward
    next_cursor = paging.encode_cursor(rows[-1][1]) if rows and (more or backward) else None
    previous_cursor = paging.encode_cursor(rows[0][1], backward=True) if rows and (
        (more and backward) or (cursor is not None and not backward)) else None
    subset = elements.subset_of(request.params)
    entries = [_entry(request, version, "match", subset) for version in page]
    entries += [_entry(request, version, "include", subset) for version in extra]
    if query.ignored:
        outcome = operation_outcome([
            Issue("warning", "not-supported", f"Search parameter `{name}` is not supported and was ignored.",
                  (name,)) for name in query.ignored
        ])
        entries.append(bundles.entry(None, json_codec.dump(outcome), search={"mode": "outcome"}))
    links = paging.links(request, next_cursor, dropped=frozenset(query.ignored), previous_cursor=previous_cursor)
    return FhirResponse(200, bundles.bundle("searchset", entries, links=links, total=total))


def _entry(request: FhirRequest, version, mode: str, subset: elements.Subset) -> bytes:
    return bundles.entry(f"{request.base_url}/{version.reference}", elements.shape(version.body, subset),
                         search={"mode": mode})
