"""Bulk `$export` jobs run by the server (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#response---in-progress-status):
started by a kick-off, run in a background thread, persisted in the export_jobs table as it goes.

Any server process answers a job's status from the table. A job whose worker stopped (the server was
restarted) is taken over after a lease by the next process that looks at it, and resumes from its
checkpoint; cancelling deletes the job and its files; a finished job's files expire after a while.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path
from typing import Callable

from fhir_server import garbage_collection
from fhir_server.bulk.export import Exporter, Progress
from fhir_server.bulk.export_request import ExportRequest
from fhir_server.pipeline import Context
from fhir_server.storage import export_jobs
from fhir_server.storage.export_jobs import COMPLETED, FAILED, ExportJob, now_ms
from fhir_server.storage.ids import new_id

log = logging.getLogger(__name__)


def folder(context: Context, id_: str) -> Path:
    return Path(context.settings.exports_folder) / id_


def start(context: Context, export: ExportRequest, request_url: str) -> str:
    """Record the job and start it; its id."""
    sweep(context)
    id_, owner = new_id(), new_id()
    export_jobs.create(context.repository.database, id_, request=request_url, parameters=export.as_json(),
                       progress=Progress().as_json(), owner=owner, transaction_time=now_ms())
    _launch(context, export_jobs.get(context.repository.database, id_), owner)
    return id_


def current(context: Context, id_: str) -> ExportJob | None:
    """The job as it stands, after resuming or expiring what needs it; None if there is none."""
    sweep(context)
    job = export_jobs.get(context.repository.database, id_)
    if job is not None and job.expires is not None and job.expires <= now_ms():  # it finished after the sweep
        cancel(context, id_)
        return None
    return job


def cancel(context: Context, id_: str) -> bool:
    """Delete the job and its files; False if there was no such job. A worker still running stops at its
    next checkpoint."""
    removed = export_jobs.remove(context.repository.database, id_)
    shutil.rmtree(folder(context, id_), ignore_errors=True)
    return removed


def sweep(context: Context) -> None:
    """Resume running jobs whose worker stopped; delete finished jobs past their expiry, with their files."""
    database = context.repository.database
    lease_ms = context.settings.bulk_job_lease_seconds * 1000
    for job in export_jobs.stale_or_expired(database, lease_ms):
        if job.state != export_jobs.RUNNING:
            cancel(context, job.id)
            continue
        owner = new_id()
        if export_jobs.take_over(database, job, owner, lease_ms):
            log.info("resuming export job %s from its checkpoint", job.id)
            _launch(context, job, owner)


def resume_later(context: Context) -> None:
    """After a restart: resume interrupted jobs once their lease has run out, even if nobody asks about them."""
    if not export_jobs.stale_or_expired(context.repository.database, lease_ms=0):
        return
    timer = threading.Timer(context.settings.bulk_job_lease_seconds + 1, _sweep_logged, args=(context,))
    timer.daemon = True
    timer.start()


def _sweep_logged(context: Context) -> None:
    try:
        sweep(context)
    except Exception:  # a background timer has nobody to answer to; the next status request sweeps again
        log.exception("sweeping export jobs failed")


def _expiry(context: Context) -> int:
    return now_ms() + context.settings.export_expiry_seconds * 1000


# How often a running job records its progress (and a quarter of the lease at most, so no other process takes it
# over). Each record is a commit, which SQLite syncs to disk, and a system export recorded one per page and two per
# type, 256 of them for the 128 types even with nothing to export: about a third of the time it took for 2,000
# synthetic patients. A job resumed after its server stopped writes again what it wrote since its last record
# (bulk/export.py), and a cancelled one stops at its next record.
CHECKPOINT_SECONDS = 1.0


def _at_most_every(seconds: float, record: Callable[[Progress], bool]) -> Callable[[Progress], bool]:
    last = time.monotonic()

    def checkpoint(progress: Progress) -> bool:
        nonlocal last
        if time.monotonic() - last < seconds:
            return True
        last = time.monotonic()
        return record(progress)
    return checkpoint


def _launch(context: Context, job: ExportJob, owner: str) -> None:
    threading.Thread(target=_run, args=(context, job, owner), name=f"export-{job.id}", daemon=True).start()


def _run(context: Context, job: ExportJob, owner: str) -> None:
    database = context.repository.database
    exporter = Exporter(context, ExportRequest.from_json(job.parameters), folder(context, job.id),
                        context.settings.export_file_resources, as_of=job.transaction_time)
    progress = Progress.from_json(job.progress)
    record = _at_most_every(min(CHECKPOINT_SECONDS, context.settings.bulk_job_lease_seconds / 4),
                            lambda progress: export_jobs.checkpoint(database, job.id, owner, progress.as_json()))
    try:
        with garbage_collection.rarer_during_bulk_job():
            finished = exporter.run(progress, record)
    except Exception as error:  # the job must end in a state a client can read, whatever happened
        log.exception("export job %s failed", job.id)
        export_jobs.checkpoint(database, job.id, owner, progress.as_json(), state=FAILED,
                               message=f"{type(error).__name__}: {error}", expires=_expiry(context))
        return
    expires = _expiry(context)  # counted from the end, so a long export's files get their whole time
    if not finished or not export_jobs.checkpoint(database, job.id, owner, progress.as_json(), state=COMPLETED,
                                                  expires=expires):
        if export_jobs.get(database, job.id) is None:  # cancelled: its files may have been written meanwhile
            shutil.rmtree(folder(context, job.id), ignore_errors=True)
