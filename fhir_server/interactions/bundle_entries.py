"""Bundle entries as interaction requests, and interaction responses as Bundle entries.

https://hl7.org/fhir/R4/http.html#transaction: each entry's ``request`` names a method and a URL
relative to the base; ifMatch, ifNoneMatch, ifModifiedSince and ifNoneExist become headers.
"""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers

from fhir_server import bundles, http
from fhir_server.errors import BadRequest, FhirError, PayloadTooLarge, outcome_for
from fhir_server.pipeline import FhirRequest, FhirResponse
from fhir_server.storage.instants import format_instant

_HEADERS = {"ifMatch": "If-Match", "ifNoneMatch": "If-None-Match", "ifModifiedSince": "If-Modified-Since",
            "ifNoneExist": "If-None-Exist"}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})


def entries_of(bundle: object, max_entries: int) -> tuple[str, list[dict]]:
    """The Bundle's type and entries, checked for the shape a batch or transaction needs and for their number."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise BadRequest("POST to the base takes a Bundle of type `batch` or `transaction`.")
    bundle_type = bundle.get("type")
    if bundle_type not in ("batch", "transaction"):
        raise BadRequest(f"Bundle.type `{bundle_type}` cannot be processed; use `batch` or `transaction`.",
                         expression=("Bundle.type",))
    entries = bundle.get("entry", [])
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        raise BadRequest("Bundle.entry must be a list of objects.", expression=("Bundle.entry",))
    if len(entries) > max_entries:
        raise PayloadTooLarge(f"The Bundle has {len(entries)} entries; the server takes at most {max_entries} in one "
                              "batch or transaction (FHIR_SERVER_MAX_BUNDLE_ENTRIES).", expression=("Bundle.entry",))
    return bundle_type, entries


def entry_request(index: int, entry: dict, outer: FhirRequest) -> FhirRequest:
    where = f"Bundle.entry[{index}]"
    details = entry.get("request")
    if not isinstance(details, dict) or not isinstance(details.get("url"), str):
        raise BadRequest(f"{where} has no request.url.", expression=(f"{where}.request",))
    method = str(details.get("method", "")).upper()
    if method not in _METHODS:
        raise BadRequest(f"{where}.request.method `{details.get('method')}` is not an HTTP method FHIR uses.",
                         expression=(f"{where}.request.method",))
    url = details["url"]
    if url.startswith(outer.base_url + "/"):
        url = url[len(outer.base_url) + 1:]
    path, _, query = url.partition("?")
    headers = Headers([(header, str(details[key])) for key, header in _HEADERS.items() if details.get(key)])
    for prefer in outer.headers.getlist("Prefer"):
        headers.add("Prefer", prefer)
    request = FhirRequest(method, path.strip("/"), parse_qsl(query, keep_blank_values=True), headers,
                          base_url=outer.base_url, bundle_entry=index)
    resource = entry.get("resource")
    if method == "PATCH" and isinstance(resource, dict) and resource.get("resourceType") == "Binary":
        request.body = _binary_content(resource, where)
        headers.set("Content-Type", resource.get("contentType", ""))
    elif method == "PATCH" and resource is not None:
        headers.set("Content-Type", http.FHIR_JSON)  # FHIRPath Patch: the patch handler answers 415
    elif resource is not None:
        if not isinstance(resource, dict):
            raise BadRequest(f"{where}.resource must be a JSON object.", expression=(f"{where}.resource",))
        request.resource = resource
    return request


def _binary_content(binary: dict, where: str) -> bytes:
    try:
        return base64.b64decode(binary.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(f"{where}.resource.data is not base64.", expression=(f"{where}.resource.data",)) from None


def status_line(status: int) -> str:
    return f"{status} {HTTPStatus(status).phrase}"


def response_entry(response: FhirResponse, *, keep_body: bool = True) -> bytes:
    details = {"status": status_line(response.status)}
    version = response.version
    if version is not None and not version.deleted and response.status in (200, 201):
        details["location"] = f"{version.reference}/_history/{version.version_id}"
    if version is not None:
        details["etag"] = f'W/"{version.version_id}"'
        details["lastModified"] = format_instant(version.last_updated)
    body = response.body if keep_body and response.status != 304 else None
    return bundles.entry(None, body, response=details)


def error_entry(error: FhirError) -> bytes:
    return bundles.entry(None, None, response={"status": status_line(error.status), "outcome": outcome_for(error)})
