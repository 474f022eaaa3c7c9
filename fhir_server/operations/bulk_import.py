"""Bulk `$import` of FHIR NDJSON, in the Parameters form HAPI FHIR takes and the bulk import proposal of the
Bulk Data IG describes (https://github.com/smart-on-fhir/bulk-import/blob/master/import-pnp.md):

    {"resourceType": "Parameters", "parameter": [
      {"name": "inputFormat", "valueCode": "application/fhir+ndjson"},
      {"name": "input", "part": [{"name": "type", "valueCode": "Patient"},
                                 {"name": "url", "valueUri": "file:///srv/exports/Patient.ndjson"}]}]}

Every input is checked before a job exists: a file: URL must lie in one of the folders the server allows
(FHIR_SERVER_IMPORT_FOLDERS) and exist, an http(s) URL must start with an allowed prefix
(FHIR_SERVER_IMPORT_URL_PREFIXES). The job validates and stores every line as any write is; the answer is
202 with the job's status URL, which reports progress and, at the end, the rejected lines as OperationOutcomes.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

from fhir_server import http, import_jobs, json_codec, resources
from fhir_server.bulk.export_request import NDJSON_FORMATS
from fhir_server.errors import BadRequest
from fhir_server.operations import operation
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.settings import Settings

_PARAMETERS = ("inputFormat", "inputSource", "input", "storageDetail")


@operation("import", definition="http://fhir-server.kr/OperationDefinition/import", levels=("system",))
def import_(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    if http.preference(request, "respond-async") is None:
        raise BadRequest("A bulk import runs asynchronously: send the header `Prefer: respond-async`.")
    parameters = _parameters(request)
    formats = [_value(parameter) for parameter in parameters if parameter["name"] == "inputFormat"]
    if any(format_ not in NDJSON_FORMATS for format_ in formats):
        raise BadRequest(f"`inputFormat`: this server imports {NDJSON_FORMATS[0]} only.", expression=("inputFormat",))
    inputs = [_input(parameter, context.settings) for parameter in parameters if parameter["name"] == "input"]
    if not inputs:
        raise BadRequest("`$import` needs at least one `input` with a `url`.", expression=("input",))
    id_ = import_jobs.start_inputs(context, inputs, f"{request.base_url}/$import")
    return FhirResponse(202, headers={"Content-Location": f"{request.base_url}/bulk-status/{id_}"})


def _parameters(request: FhirRequest) -> list[dict]:
    body = json_codec.parse(request.body) if request.body else None
    if not isinstance(body, dict) or body.get("resourceType") != "Parameters":
        raise BadRequest("`$import` takes a Parameters resource naming its inputs.")
    parameters = body.get("parameter") or []
    for parameter in parameters:
        if not isinstance(parameter, dict) or parameter.get("name") not in _PARAMETERS:
            name = parameter.get("name") if isinstance(parameter, dict) else parameter
            raise BadRequest(f"`$import` has no parameter `{name}`; its parameters are {', '.join(_PARAMETERS)}.")
    return parameters


def _value(parameter: dict) -> str | None:
    return next((value for key, value in parameter.items() if key.startswith("value") and isinstance(value, str)),
                None)


def _input(parameter: dict, settings: Settings) -> dict:
    parts = {part.get("name"): _value(part) for part in parameter.get("part") or [] if isinstance(part, dict)}
    url, resource_type = parts.get("url"), parts.get("type")
    if not url:
        raise BadRequest("Each `input` of `$import` has a `url` part.", expression=("input",))
    if resource_type is not None and not resources.is_supported(resource_type):
        raise BadRequest(f"`input`: `{resource_type}` is not a resource type this server supports.",
                         expression=("input",))
    _check_allowed(url, settings)
    return {"url": url, **({"type": resource_type} if resource_type else {})}


def _check_allowed(url: str, settings: Settings) -> None:
    scheme = urlparse(url).scheme
    if scheme == "file":
        path = Path(url2pathname(urlparse(url).path)).resolve()
        folders = [Path(folder).resolve() for folder in settings.import_folders.split()]
        if not any(path.is_relative_to(folder) for folder in folders):
            raise BadRequest(f"`{url}` is not in a folder this server imports from (FHIR_SERVER_IMPORT_FOLDERS).",
                             expression=("input",))
        if not path.is_file():
            raise BadRequest(f"`{url}` does not exist on the server.", expression=("input",))
    elif scheme in ("http", "https"):
        if not any(url.startswith(prefix) for prefix in settings.import_url_prefixes.split()):
            raise BadRequest(f"`{url}` is not under a URL this server may import from "
                             "(FHIR_SERVER_IMPORT_URL_PREFIXES).", expression=("input",))
    else:
        raise BadRequest(f"`{url}`: `$import` reads file:, http: and https: URLs.", expression=("input",))
