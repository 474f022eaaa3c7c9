"""history of an instance, a type, or the whole system (https://hl7.org/fhir/R4/http.html#history).

Newest first, with `_since`, `_count` and keyset `next` links; deletions appear without a resource.
"""

from __future__ import annotations

from http import HTTPStatus

from fhir_server import bundles, paging
from fhir_server.errors import BadRequest, NotFound
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.security import confinement
from fhir_server.storage.instants import format_instant, parse_fhir_instant
from fhir_server.storage.versions import StoredVersion


def instance(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    return _history(request, context, args["type"], args["id"])


def type_level(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    return _history(request, context, args["type"], None)


def system(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    return _history(request, context, None, None)


def _history(request: FhirRequest, context: Context, resource_type: str | None, id_: str | None) -> FhirResponse:
    count = paging.page_size(request, context.settings)
    since = _since(request.param("_since"))
    before = _cursor(paging.cursor(request))
    with context.reading() as connection:
        if id_ is not None:
            confinement.require_visible(context.access, context.search, connection, resource_type, id_)
        versions = context.repository.history(resource_type=resource_type, id_=id_, since_ms=since,
                                              before_seq=before, limit=count + 1, connection=connection)
        if id_ is not None and not versions and before is None and since is None:
            raise NotFound(f"Resource `{resource_type}/{id_}` was not found.")
    page = versions[:count]
    next_cursor = str(page[-1].seq) if len(versions) > count and page else None
    entries = [_entry(request.base_url, version) for version in page]
    body = bundles.bundle("history", entries, links=paging.links(request, next_cursor))
    return FhirResponse(200, body)


def _entry(base_url: str, version: StoredVersion) -> bytes:
    url = version.resource_type if version.method == "POST" else version.reference
    status = 201 if version.version_id == 1 and not version.deleted else 204 if version.deleted else 200
    return bundles.entry(
        f"{base_url}/{version.reference}",
        version.body,
        request={"method": version.method, "url": url},
        response={"status": f"{status} {HTTPStatus(status).phrase}", "etag": f'W/"{version.version_id}"',
                  "lastModified": format_instant(version.last_updated)},
    )


def _since(raw: str | None) -> int | None:
    if raw is None:
        return None
    since = parse_fhir_instant(raw)
    if since is None:
        raise BadRequest(f"`_since={raw}` is not a FHIR instant such as 2026-01-31T09:00:00Z.",
                         expression=("_since",))
    return since


def _cursor(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not raw.isdigit():
        raise BadRequest(f"`{paging.CURSOR}={raw}` is not a cursor this server gave out.")
    return int(raw)
