"""The search index's value indexes, dropped for the rest of a large load and built again after it.

Each index row goes into its table and its B-tree indexes. Inserting rows one by one into the value indexes
(those that searches read: code, date, reference target, ...) was about half the cost of writing the rows, while
building an index over rows already in place sorts them once: measured on 2,000 synthetic patients (51,381
resources, 562,000 index rows) on SQLite, 101 µs per resource to write without the value indexes plus 28 to
build them, against 191 with them.

Results never depend on these indexes: without them a search is answered right, only slower, and every row is
still written in the resource's own transaction. The per-resource indexes (``ix_*_resource``) stay, so updates and
deletes remain quick. Whoever drops the indexes builds them in a ``finally``; a process killed in between leaves
them missing until the next import ends or ``fhir-server init-db`` (``database.migrate``) runs: both build
whatever is missing.
"""

from __future__ import annotations

import logging

from sqlalchemy import Index, func, inspect, select
from sqlalchemy.exc import OperationalError

from fhir_server.storage.database import Database
from fhir_server.storage.tables import INDEX_TABLES, resources

log = logging.getLogger(__name__)

VALUE_INDEXES: tuple[Index, ...] = tuple(index for table in INDEX_TABLES.values() for index in
                                         sorted(table.indexes, key=lambda index: index.name)
                                         if not index.name.endswith("_resource"))
# PostgreSQL: a DROP INDEX waits for every open transaction on the table, and queries queue behind it; a load
# that cannot have the lock soon goes on with the indexes in place.
_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '2s'"


def stored_resources(database: Database) -> int:
    with database.read() as connection:
        return connection.execute(select(func.count()).select_from(resources)).scalar_one()


def drop(database: Database) -> bool:
    """Drop the value indexes; False if PostgreSQL could not lock the tables soon (nothing is dropped then)."""
    try:
        with database.write() as connection:
            if not database.is_sqlite:
                connection.exec_driver_sql(_LOCK_TIMEOUT)
            for index in VALUE_INDEXES:
                index.drop(connection, checkfirst=True)
    except OperationalError as error:
        log.info("the value indexes stay in place: %s", error.orig)
        return False
    return True


def missing(database: Database) -> list[Index]:
    with database.read() as connection:
        inspector = inspect(connection)
        present = {found["name"] for table in INDEX_TABLES for found in inspector.get_indexes(table)}
    return [index for index in VALUE_INDEXES if index.name not in present]


def build(database: Database) -> None:
    """Create whichever value indexes are missing, each in its own transaction."""
    for index in missing(database):
        log.info("building index %s", index.name)
        with database.write() as connection:
            index.create(connection, checkfirst=True)
