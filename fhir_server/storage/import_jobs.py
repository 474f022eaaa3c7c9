"""The import_jobs table: one row per import started over HTTP (an upload or a bulk `$import`), updated as it
progresses. Each running job has an owner, the worker importing it; when a server stops, the next process
takes a job whose owner has not recorded progress within a lease over (one process wins) and resumes it from
its last checkpoint, and a worker whose job was taken over finds out at its next checkpoint and stops."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from fhir_server.storage.database import Database
from fhir_server.storage.tables import import_jobs

# A running job without progress for this long was interrupted (its server stopped) and no process resumed it.
STALE_MS = 120_000


@dataclass(frozen=True)
class ImportJob:
    id: str
    format: str
    options: dict
    state: str
    summary: dict
    message: str | None
    created: int
    updated: int
    owner: str | None = None

    @property
    def interrupted(self) -> bool:
        return self.state == "running" and _now_ms() - self.updated > STALE_MS


def create(database: Database, id_: str, format_: str, options: dict, owner: str | None = None) -> None:
    now = _now_ms()
    with database.write() as connection:
        connection.execute(insert(import_jobs).values(id=id_, format=format_, options=json.dumps(options),
                                                      state="running", summary="{}", created=now, updated=now,
                                                      owner=owner))


def record(database: Database, id_: str, *, summary: dict, state: str = "running", message: str | None = None,
           owner: str | None = None) -> bool:
    """Record progress (the checkpoint a resumed job starts from); False if the job is gone (cancelled) or,
    given its ``owner``, another worker has taken it over."""
    condition = import_jobs.c.id == id_
    if owner is not None:
        condition &= import_jobs.c.owner == owner
    with database.write() as connection:
        return connection.execute(update(import_jobs).where(condition).values(
            summary=json.dumps(summary), state=state, message=message, updated=_now_ms())).rowcount == 1


def touch(database: Database, id_: str, owner: str) -> bool:
    """Say that ``owner`` is still at work on the job; False if it is no longer the job's worker."""
    with database.write() as connection:
        return connection.execute(update(import_jobs).where(
            import_jobs.c.id == id_, import_jobs.c.owner == owner, import_jobs.c.state == "running").values(
            updated=_now_ms())).rowcount == 1


def stale(database: Database, lease_ms: int) -> list[ImportJob]:
    """Running jobs whose worker has recorded nothing within the lease: their server stopped."""
    with database.engine.connect() as connection:
        rows = connection.execute(select(import_jobs).where(import_jobs.c.state == "running",
                                                            import_jobs.c.updated < _now_ms() - lease_ms)).all()
    return [_job(row) for row in rows]


def take_over(database: Database, job: ImportJob, owner: str) -> bool:
    """Make ``owner`` the job's worker; the update matches the row as read, so of several processes one wins."""
    with database.write() as connection:
        changed = connection.execute(update(import_jobs).where(
            import_jobs.c.id == job.id, import_jobs.c.state == "running",
            import_jobs.c.updated == job.updated).values(owner=owner, updated=_now_ms()))
    return changed.rowcount == 1


def remove(database: Database, id_: str) -> bool:
    with database.write() as connection:
        return connection.execute(delete(import_jobs).where(import_jobs.c.id == id_)).rowcount == 1


def get(database: Database, id_: str) -> ImportJob | None:
    with database.engine.connect() as connection:
        row = connection.execute(select(import_jobs).where(import_jobs.c.id == id_)).first()
    return _job(row) if row else None


def newest(database: Database, limit: int = 100) -> list[ImportJob]:
    with database.engine.connect() as connection:
        rows = connection.execute(select(import_jobs).order_by(import_jobs.c.created.desc()).limit(limit)).all()
    return [_job(row) for row in rows]


def _job(row) -> ImportJob:
    return ImportJob(row.id, row.format, json.loads(row.options), row.state, json.loads(row.summary), row.message,
                     row.created, row.updated, row.owner)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
