"""The HTTP side of imports, outside the FHIR base because none of it is FHIR:

- ``POST /import/{format}?spec=&samples=&build=&source-system=&dry-run=`` with the export zipped
  (``application/zip``): 202 Accepted with ``Content-Location: /import/jobs/{id}``, or an OperationOutcome
  saying why the upload cannot be imported;
- ``GET /import/jobs``: the newest jobs; ``GET /import/jobs/{id}``: one job's state and summary (read,
  mapped, rejected, created, updated, unchanged); ``GET /import/jobs/{id}/rejects``: its rejects as NDJSON.
"""

from __future__ import annotations

import tempfile
from datetime import datetime, timezone
from pathlib import Path

from flask import Blueprint, Response, jsonify, request, url_for

from fhir_server import import_jobs
from fhir_server.errors import BadRequest, NotFound
from fhir_server.import_sources import Options
from fhir_server.pipeline import Context
from fhir_server.security import bearer
from fhir_server.storage import import_jobs as stored_jobs

_PARAMETERS = {"spec", "samples", "build", "source-system", "dry-run"}


PREFIX = "/import"


def blueprint(context: Context) -> Blueprint:
    api = Blueprint("import", __name__, url_prefix=PREFIX)

    @api.before_request
    def integrators_only():
        bearer.current_access().require_role("integrator", "admin")

    @api.post("/<format_>")
    def upload(format_: str):
        unknown = sorted(set(request.args) - _PARAMETERS)
        if unknown:
            raise BadRequest(f"Unknown parameter `{unknown[0]}`; the parameters are {', '.join(sorted(_PARAMETERS))}.")
        request.max_content_length = context.settings.max_upload_bytes
        options = Options(spec=request.args.get("spec"), samples=request.args.get("samples"),
                          build=request.args.get("build"), source_system=request.args.get("source-system"))
        with tempfile.NamedTemporaryFile(suffix=".zip") as archive:
            for chunk in iter(lambda: request.stream.read(1 << 20), b""):
                archive.write(chunk)
            archive.flush()
            id_ = import_jobs.start(context, format_, options, Path(archive.name),
                                    dry_run=request.args.get("dry-run") == "true")
        location = url_for("import.job", id_=id_, _external=True)
        return Response(status=202, headers={"Content-Location": location, "Location": location})

    @api.get("/jobs")
    def jobs():
        import_jobs.resume_stale(context)  # a job whose server stopped resumes when someone looks at it
        return jsonify({"jobs": [_describe(job) for job in stored_jobs.newest(context.repository.database)]})

    @api.get("/jobs/<id_>")
    def job(id_: str):
        import_jobs.resume_stale(context)
        return jsonify(_describe(_job(context, id_)))

    @api.get("/jobs/<id_>/rejects")
    def rejects(id_: str):
        _job(context, id_)
        path = import_jobs.rejects_path(context, id_)
        body = path.read_bytes() if path.exists() else b""
        return Response(body, 200, content_type="application/x-ndjson; charset=utf-8")

    return api


def _job(context: Context, id_: str):
    found = stored_jobs.get(context.repository.database, id_)
    if found is None:
        raise NotFound(f"Import job `{id_}` was not found.")
    return found


def _describe(job) -> dict:
    described = {"id": job.id, "format": job.format, "state": "interrupted" if job.interrupted else job.state,
                 "options": job.options, "summary": job.summary, "created": _instant(job.created),
                 "updated": _instant(job.updated),
                 "status": url_for("import.job", id_=job.id), "rejects": url_for("import.rejects", id_=job.id)}
    if job.message:
        described["message"] = job.message
    return described


def _instant(milliseconds: int) -> str:
    return datetime.fromtimestamp(milliseconds / 1000, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
