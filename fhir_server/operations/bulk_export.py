"""Bulk Data `$export` kick-off at the system, Patient and Group levels
(https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-kick-off-request): the request is checked in
full, then a job starts and the answer is 202 with the job's status URL in Content-Location."""

from __future__ import annotations

import dataclasses

from urllib.parse import urlencode

from fhir_server.bulk import export_jobs, export_request
from fhir_server.operations import operation
from fhir_server.pipeline import Context, FhirRequest, FhirResponse

DEFINITION = "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/{}"


@operation("export", definition=DEFINITION.format("export"), levels=("system",), methods=("GET", "POST"))
def export_system(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    return _kick_off(request, context, export_request.parse(request, context, export_request.SYSTEM))


@operation("export", definition=DEFINITION.format("patient-export"), levels=("type",), resource_type="Patient",
           methods=("GET", "POST"))
def export_patients(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    return _kick_off(request, context, export_request.parse(request, context, export_request.PATIENT))


@operation("export", definition=DEFINITION.format("group-export"), levels=("instance",), resource_type="Group",
           methods=("GET", "POST"))
def export_group(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    export = export_request.parse(request, context, export_request.GROUP, group=args["id"])
    context.repository.read("Group", args["id"])  # 404 or 410 before a job exists
    return _kick_off(request, context, export)


def _kick_off(request: FhirRequest, context: Context, export: export_request.ExportRequest) -> FhirResponse:
    url = f"{request.base_url}/{request.path}" + (f"?{urlencode(request.params)}" if request.params else "")
    id_ = export_jobs.start(context, dataclasses.replace(export, requester=context.access.requester), url)
    return FhirResponse(202, headers={"Content-Location": f"{request.base_url}/bulk-status/{id_}"})
