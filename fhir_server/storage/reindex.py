"""Rebuild the search index of stored resources, after SearchParameters change or the index schema grows.

Batches of resources in (type, id) order, each batch one write transaction, so a large database is
reindexed with bounded memory while the server keeps serving; a resource written meanwhile is indexed
by its own write, and its batch takes the same per-resource lock.
"""

from __future__ import annotations

from typing import Callable

from sqlalchemy import and_, or_, select

from fhir_server.storage.repository import Repository
from fhir_server.storage.tables import resources

BATCH = 500


def reindex(repository: Repository, resource_type: str | None = None, *, batch: int = BATCH,
            progress: Callable[[int], None] | None = None) -> int:
    """Reindex every current resource (of one type, if given); returns how many were reindexed."""
    done, after = 0, None
    while True:
        statement = select(resources.c.resource_type, resources.c.id).where(resources.c.deleted.is_(False))
        if resource_type is not None:
            statement = statement.where(resources.c.resource_type == resource_type)
        if after is not None:
            statement = statement.where(or_(resources.c.resource_type > after[0],
                                            and_(resources.c.resource_type == after[0], resources.c.id > after[1])))
        with repository.database.read() as connection:
            keys = connection.execute(statement.order_by(resources.c.resource_type, resources.c.id)
                                      .limit(batch)).all()
        if not keys:
            return done
        by_type: dict[str, list[str]] = {}
        for kind, id_ in keys:
            by_type.setdefault(kind, []).append(id_)
        with repository.write() as session:
            for kind, ids in by_type.items():
                done += session.reindex(kind, ids)
        after = tuple(keys[-1])
        if progress is not None:
            progress(done)
