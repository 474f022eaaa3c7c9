"""The import_jobs table: one row per import uploaded over HTTP, updated as it progresses."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from fhir_server.storage.database import Database
from fhir_server.storage.tables import import_jobs

STALE_MS = 120_000  # a running job without progress for this long was interrupted (the server stopped)


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

    @property
    def interrupted(self) -> bool:
        return self.state == "running" and _now_ms() - self.updated > STALE_MS


def create(database: Database, id_: str, format_: str, options: dict) -> None:
    now = _now_ms()
    with database.write() as connection:
        connection.execute(insert(import_jobs).values(id=id_, format=format_, options=json.dumps(options),
                                                      state="running", summary="{}", created=now, updated=now))


def record(database: Database, id_: str, *, summary: dict, state: str = "running", message: str | None = None) -> bool:
    """Record progress; False if the job is gone (cancelled)."""
    with database.write() as connection:
        return connection.execute(update(import_jobs).where(import_jobs.c.id == id_).values(
            summary=json.dumps(summary), state=state, message=message, updated=_now_ms())).rowcount == 1


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
                     row.created, row.updated)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
