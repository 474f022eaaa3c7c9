"""The status URL and files of a bulk job (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#bulk-data-status-request):

- ``GET [base]/bulk-status/{id}``: 202 with ``X-Progress`` and ``Retry-After`` while the job runs; 200 with the
  manifest (an export's files, or an import's outcome) when it is done; an OperationOutcome if it failed;
- ``DELETE [base]/bulk-status/{id}``: cancel the job and delete its files (202);
- ``GET [base]/bulk-files/{id}/{name}``: one NDJSON file of a finished export, or an import's errors file.
"""

from __future__ import annotations

from fhir_server import import_jobs, json_codec
from fhir_server.bulk import export_jobs
from fhir_server.errors import JobFailed, NotFound
from fhir_server.interactions import Interaction
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.storage import import_jobs as stored_imports
from fhir_server.storage.export_jobs import COMPLETED, FAILED, ExportJob
from fhir_server.storage.instants import format_http_date, format_instant

NDJSON = "application/fhir+ndjson"
ERRORS = "errors.ndjson"  # an import's rejected lines, as OperationOutcomes
RETRY_AFTER_SECONDS = 2


def status(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    imported = _import(context, args["job"])
    if imported is not None:
        if imported.state == "running":
            import_jobs.resume_stale(context)  # a job whose server stopped resumes when someone asks about it
            imported = _import(context, args["job"]) or imported
        return _import_status(request, context, imported)
    job = _job(context, args["job"])
    if job.state == FAILED:
        raise JobFailed("The export failed; the failure has been logged on the server.")
    if job.state != COMPLETED:
        return FhirResponse(202, headers={"X-Progress": _progress(job), "Retry-After": str(RETRY_AFTER_SECONDS)})
    manifest = {
        "transactionTime": format_instant(job.transaction_time),
        "request": job.request,
        "requiresAccessToken": context.access.restricted,
        "output": [{"type": file["type"], "url": f"{request.base_url}/bulk-files/{job.id}/{file['name']}",
                    "count": file["count"]} for file in job.progress["files"]],
        "error": [],
    }
    return FhirResponse(200, json_codec.dump(manifest), headers={"Expires": format_http_date(job.expires)},
                        content_type="application/json")


def _import_status(request: FhirRequest, context: Context, job) -> FhirResponse:
    summary = job.summary
    if job.state == "failed" or job.interrupted:
        raise JobFailed("The import " + ("was interrupted (the server stopped) and has not been resumed; run it "
                                         "again: lines with an id are stored unchanged" if job.interrupted else
                                         "failed; the failure has been logged on the server") + ".")
    if job.state != "completed":
        progress = f"{summary.get('read', 0)} lines read, {summary.get('rejected', 0)} rejected"
        return FhirResponse(202, headers={"X-Progress": progress, "Retry-After": str(RETRY_AFTER_SECONDS)})
    manifest = {
        "transactionTime": format_instant(job.created),
        "request": job.options["request"],
        "requiresAccessToken": context.access.restricted,
        "output": [],
        "error": [{"type": "OperationOutcome", "url": f"{request.base_url}/bulk-files/{job.id}/{ERRORS}",
                   "count": summary["rejected"]}] if summary["rejected"] else [],
        "summary": {key: summary[key] for key in ("read", "rejected", "created", "updated", "unchanged")},
    }
    return FhirResponse(200, json_codec.dump(manifest), content_type="application/json")


def cancel(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    imported = _import(context, args["job"])
    if imported is not None:
        import_jobs.cancel(context, imported.id)
        return FhirResponse(202)
    _job(context, args["job"])  # NotFound for a job that is gone or someone else's
    if not export_jobs.cancel(context, args["job"]):
        raise _not_found(args["job"])
    return FhirResponse(202)


def file(request: FhirRequest, args: dict, context: Context) -> FhirResponse:
    imported = _import(context, args["job"])
    if imported is not None and imported.state == "completed" \
            and args["name"] == ERRORS and imported.summary.get("rejected"):
        return FhirResponse(200, file=import_jobs.outcomes_path(context, imported.id), content_type=NDJSON)
    job = _job(context, args["job"])
    names = {file["name"] for file in job.progress["files"]} if job.state == COMPLETED else set()
    if args["name"] not in names:
        raise NotFound(f"Bulk job `{job.id}` has no file `{args['name']}`.")
    return FhirResponse(200, file=export_jobs.folder(context, job.id) / args["name"], content_type=NDJSON)


def _import(context: Context, id_: str):
    """The `$import` job with this id, if there is one; NotFound if it is someone else's."""
    job = stored_imports.get(context.repository.database, id_)
    if job is None or job.format != "ndjson":
        return None
    if not context.access.may_follow(job.options.get("requester")):
        raise _not_found(id_)
    return job


def _not_found(id_: str) -> NotFound:
    return NotFound(f"There is no bulk job `{id_}`; it may have finished and expired, or been cancelled.")


def _job(context: Context, id_: str) -> ExportJob:
    job = export_jobs.current(context, id_)
    if job is not None and not context.access.may_follow(job.parameters.get("requester")):
        job = None  # someone else's job: as if there were none
    if job is None:
        raise _not_found(id_)
    return job


def _progress(job: ExportJob) -> str:
    types = job.parameters["types"]
    index = job.progress["type_index"]
    now = f"exporting {types[index]} ({index + 1} of {len(types)} types)" if index < len(types) else "finishing"
    return f"{job.progress['exported']} resources exported; {now}"


INTERACTIONS = (
    Interaction("bulk-status", "GET", "/bulk-status/<job>", status, "system"),
    Interaction("bulk-cancel", "DELETE", "/bulk-status/<job>", cancel, "system"),
    Interaction("bulk-file", "GET", "/bulk-files/<job>/<name>", file, "system"),
)
