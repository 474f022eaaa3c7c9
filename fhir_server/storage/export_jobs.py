"""The export_jobs table: one row per bulk `$export`, with its checkpoint, so a job survives a restart.

A job is held by one worker (``owner``) that updates the row at every checkpoint. Every update names the
owner, so a worker whose job was cancelled (the row deleted) or taken over learns it at its next
checkpoint and stops. A running job whose row has not been updated for a lease is taken over by the next
process that looks at it, and resumes from its checkpoint.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from fhir_server.storage.database import Database
from fhir_server.storage.tables import export_jobs

RUNNING, COMPLETED, FAILED = "running", "completed", "failed"


@dataclass(frozen=True)
class ExportJob:
    id: str
    state: str
    request: str
    parameters: dict
    progress: dict
    owner: str | None
    message: str | None
    transaction_time: int  # milliseconds since the Unix epoch
    created: int
    updated: int
    expires: int | None


def create(database: Database, id_: str, *, request: str, parameters: dict, progress: dict, owner: str,
           transaction_time: int) -> None:
    now = now_ms()
    with database.write() as connection:
        connection.execute(insert(export_jobs).values(
            id=id_, state=RUNNING, request=request, parameters=json.dumps(parameters), progress=json.dumps(progress),
            owner=owner, transaction_time=transaction_time, created=now, updated=now))


def checkpoint(database: Database, id_: str, owner: str, progress: dict, *, state: str = RUNNING,
               message: str | None = None, expires: int | None = None) -> bool:
    """Record the owner's progress; False when the job is no longer its to update (cancelled or taken over)."""
    with database.write() as connection:
        changed = connection.execute(update(export_jobs).where(
            export_jobs.c.id == id_, export_jobs.c.owner == owner, export_jobs.c.state == RUNNING).values(
            progress=json.dumps(progress), state=state, message=message, expires=expires, updated=now_ms()))
    return changed.rowcount == 1


def take_over(database: Database, job: ExportJob, owner: str, lease_ms: int) -> bool:
    """Make ``owner`` the job's worker if it is running and its worker has not updated it within the lease.

    The update matches the row as read, so of several processes that try at once, one succeeds."""
    if job.state != RUNNING or now_ms() - job.updated < lease_ms:
        return False
    with database.write() as connection:
        changed = connection.execute(update(export_jobs).where(
            export_jobs.c.id == job.id, export_jobs.c.state == RUNNING,
            export_jobs.c.updated == job.updated).values(owner=owner, updated=now_ms()))
    return changed.rowcount == 1


def get(database: Database, id_: str) -> ExportJob | None:
    with database.engine.connect() as connection:
        row = connection.execute(select(export_jobs).where(export_jobs.c.id == id_)).first()
    return _job(row) if row else None


def stale_or_expired(database: Database, lease_ms: int) -> list[ExportJob]:
    """Running jobs whose worker stopped, and completed or failed jobs at or past their expiry (so an expiry of 0
    seconds means at once, however fast the next poll)."""
    now = now_ms()
    with database.engine.connect() as connection:
        rows = connection.execute(select(export_jobs).where(
            ((export_jobs.c.state == RUNNING) & (export_jobs.c.updated < now - lease_ms))
            | ((export_jobs.c.state != RUNNING) & (export_jobs.c.expires <= now)))).all()
    return [_job(row) for row in rows]


def remove(database: Database, id_: str) -> bool:
    with database.write() as connection:
        return connection.execute(delete(export_jobs).where(export_jobs.c.id == id_)).rowcount == 1


def _job(row) -> ExportJob:
    return ExportJob(row.id, row.state, row.request, json.loads(row.parameters), json.loads(row.progress),
                     row.owner, row.message, row.transaction_time, row.created, row.updated, row.expires)


def now_ms() -> int:
    return time.time_ns() // 1_000_000
