"""The search outbox: which resources' search-engine documents are behind the database.

A write records its keys here in its own transaction, so a write that commits is never lost to the
search engine, even when the engine is down or the process dies right after the commit. Whoever
brings a document up to date deletes the rows it read, by ``seq``: a later write of the same
resource leaves a newer row behind for the next pass.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, select, tuple_

from fhir_server.storage.tables import search_outbox

_CHUNK = 500


def record(connection: Connection, keys: set[tuple[str, str]]) -> None:
    rows = [{"resource_type": resource_type, "id": id_} for resource_type, id_ in sorted(keys)]
    connection.execute(search_outbox.insert(), rows)


def pending(connection: Connection, limit: int, keys: set[tuple[str, str]] | None = None) -> list[tuple[int, str, str]]:
    """(seq, type, id) rows, oldest first; of ``keys`` only, when given."""
    statement = select(search_outbox.c.seq, search_outbox.c.resource_type, search_outbox.c.id)
    if keys is None:
        return [tuple(row) for row in connection.execute(statement.order_by(search_outbox.c.seq).limit(limit))]
    found = []
    ordered = sorted(keys)
    for start in range(0, len(ordered), _CHUNK):
        chunk = ordered[start:start + _CHUNK]
        found += [tuple(row) for row in connection.execute(statement.where(
            tuple_(search_outbox.c.resource_type, search_outbox.c.id).in_(chunk)))]
    return sorted(found)


def done(connection: Connection, seqs: list[int]) -> None:
    for start in range(0, len(seqs), _CHUNK):
        connection.execute(delete(search_outbox).where(search_outbox.c.seq.in_(seqs[start:start + _CHUNK])))


def size(connection: Connection) -> int:
    return connection.execute(select(func.count()).select_from(search_outbox)).scalar_one()
