"""HTTP details of the FHIR RESTful API (https://hl7.org/fhir/R4/http.html).

Content types and `_format`, ETag and If-Match/If-None-Match/If-Modified-Since, `Prefer`, and
the response every write gives. JSON only: XML requests get 415 and XML responses 406.
"""

from __future__ import annotations

import functools
import re

from fhir_server import json_codec, resources
from fhir_server.errors import BadRequest, NotAcceptable, UnsupportedMediaType, information
from fhir_server.pipeline import FhirRequest, FhirResponse
from fhir_server.storage.instants import format_http_date, parse_http_date
from fhir_server.storage.versions import StoredVersion

FHIR_JSON = "application/fhir+json"
JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
_JSON_TYPES = frozenset({FHIR_JSON, JSON})
_FORMAT_ALIASES = {"json": FHIR_JSON, FHIR_JSON: FHIR_JSON, JSON: JSON}
_ETAG = re.compile(r'(?:W/)?"?(\d+)"?')


def media_type(value: str | None) -> str:
    """The bare media type of a Content-Type or Accept item: lower case, no parameters."""
    return (value or "").split(";", 1)[0].strip().lower()


def check_id(id_: str) -> str:
    if not resources.is_id(id_):
        raise BadRequest(f"`{id_}` is not a valid resource id: 1 to 64 letters, digits, '-' or '.'.")
    return id_


def require_json_body(request: FhirRequest) -> None:
    content_type = media_type(request.headers.get("Content-Type"))
    if content_type and content_type not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type `{content_type}` is not supported; send `{FHIR_JSON}` or `{JSON}`."
        )


def json_body(request: FhirRequest) -> object:
    """The parsed body of a request that must carry FHIR JSON."""
    if request.resource is not None:
        return request.resource
    require_json_body(request)
    if not request.body.strip():
        raise BadRequest("The request has no body; a FHIR resource was expected.")
    return json_codec.parse(request.body)


def prepare_index_rows(request: FhirRequest, context) -> None:
    """Extract the validated body's index rows now, before the write's transaction takes the database's lock
    (SQLite writes one transaction at a time). Inside a transaction Bundle the lock is held already; the Bundle
    prepared the rows of the entries it could before taking it."""
    if context.session is None and request.index_rows is None and request.resource is not None:
        request.index_rows = context.search.prepared_rows(request.resource)


def resource_body(request: FhirRequest, resource_type: str) -> dict:
    """The body as a validated resource of ``resource_type``."""
    resource = json_body(request)
    if not isinstance(resource, dict):
        raise BadRequest("The body must be a JSON object holding a FHIR resource.")
    if resource.get("resourceType") != resource_type:
        raise BadRequest(
            f"The body holds a `{resource.get('resourceType')}` but the URL names `{resource_type}`.",
            expression=("resourceType",),
        )
    if not request.validated:
        resources.validate(resource)
        request.validated = True
    request.resource = resource
    return resource


def response_media_type(format_param: str | None, accept: str | None) -> str:
    """The JSON media type to answer with, from `_format` first, then Accept; 406 for XML only."""
    if format_param:
        chosen = _FORMAT_ALIASES.get(media_type(format_param).replace(" ", "+"))
        if chosen is None:
            raise NotAcceptable(f"`_format={format_param}` is not supported; this server speaks JSON only.")
        return chosen
    if not accept:
        return FHIR_JSON
    offered = [media_type(item) for item in accept.split(",")]
    if FHIR_JSON in offered or any(item in ("*/*", "application/*", "") for item in offered):
        return FHIR_JSON
    if JSON in offered:
        return JSON
    raise NotAcceptable(f"Accept `{accept}` names no JSON type; this server speaks JSON only.")


def version_from_etag(value: str, header: str) -> int:
    match = _ETAG.fullmatch(value.strip())
    if not match:
        raise BadRequest(f'{header} `{value}` is not a version ETag such as W/"3".', expression=(header,))
    return int(match.group(1))


def if_match(request: FhirRequest) -> int | None:
    value = request.headers.get("If-Match")
    return version_from_etag(value, "If-Match") if value else None


def preference(request: FhirRequest, name: str) -> str | None:
    """A token of the Prefer header (RFC 7240), e.g. ``return`` -> ``minimal``."""
    for header in request.headers.getlist("Prefer"):
        value = _preferences(header).get(name)
        if value is not None:
            return value
    return None


@functools.lru_cache(maxsize=256)  # clients send the same few headers; a bulk load asks once per resource
def _preferences(header: str) -> dict[str, str]:
    found = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        found.setdefault(key.strip().lower(), value.strip().strip('"'))
    return found


def resource_headers(version: StoredVersion) -> dict[str, str]:
    return {"ETag": f'W/"{version.version_id}"', "Last-Modified": format_http_date(version.last_updated)}


def not_modified(request: FhirRequest, version: StoredVersion) -> bool:
    """Whether If-None-Match or If-Modified-Since say the client's copy is current."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match:
        return if_none_match.strip() == "*" or any(
            _ETAG.fullmatch(tag.strip()) and int(_ETAG.fullmatch(tag.strip()).group(1)) == version.version_id
            for tag in if_none_match.split(",")
        )
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since:
        since = parse_http_date(if_modified_since)
        # HTTP dates have whole seconds: compare at that precision.
        return since is not None and version.last_updated // 1000 <= since // 1000
    return False


def resource_response(version: StoredVersion, status: int = 200) -> FhirResponse:
    return FhirResponse(status, version.body, resource_headers(version), version)


def location(request: FhirRequest, version: StoredVersion) -> str:
    return f"{request.base_url}/{version.resource_type}/{version.id}/_history/{version.version_id}"


def write_response(request: FhirRequest, status: int, version: StoredVersion, message: str) -> FhirResponse:
    """The answer to create, update and patch, shaped by `Prefer: return=`."""
    headers = resource_headers(version)
    if status == 201:
        headers["Location"] = location(request, version)
    wanted = preference(request, "return")
    if wanted == "minimal" or (wanted is None and request.bundle_entry is not None):
        return FhirResponse(status, None, headers, version)
    if wanted == "OperationOutcome":
        return FhirResponse(status, json_codec.dump(information(message)), headers, version)
    return FhirResponse(status, version.body, headers, version)


def strict_handling(request: FhirRequest) -> bool:
    return preference(request, "handling") == "strict"
