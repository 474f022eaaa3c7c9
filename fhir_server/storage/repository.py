"""Versioned CRUD over the ``resources`` and ``resource_versions`` tables.

Every write makes a new version (https://hl7.org/fhir/R4/http.html#versioning): a deletion is a
version without a body. Writes happen in a :class:`WriteSession`, one database transaction, in which
the current row is locked so concurrent updates get consecutive version numbers and a stale
``If-Match`` fails. New rows are buffered and inserted in batches before the next read and at commit.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

from sqlalchemy import Connection, delete, select, text, update

from fhir_server import json_codec
from fhir_server.errors import Gone, NotFound, PreconditionFailed
from fhir_server.storage import value_indexes
from fhir_server.storage.outbox import record as record_in_outbox
from fhir_server.storage.database import Database
from fhir_server.storage.ids import new_id
from fhir_server.storage.inserts import insert_ignoring_duplicates, insert_many
from fhir_server.storage.instants import format_instant
from fhir_server.storage.served import served_body, with_server_fields
from fhir_server.storage.tables import INDEX_TABLES, multiple_values, resource_versions, resources
from fhir_server.storage.versions import (VERSION_COLUMNS, StoredVersion, current_of_many, current_version,
                                          current_versions, to_version, version_by_number)

IndexRows = Callable[..., dict[str, list[dict]]]  # (type, id, resource, prepared rows or None) -> rows per index table


_PREFETCH_CHUNK = 500
_lock_one = text("SELECT pg_advisory_xact_lock(:key)")
# In key order, so two bulk batches never wait for each other in a cycle.
_lock_many = text("SELECT pg_advisory_xact_lock(key) FROM (SELECT unnest(CAST(:keys AS bigint[])) AS key "
                  "ORDER BY 1) AS ordered")


def _lock_key(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


class Repository:
    """Reads and history over one database; writes go through :meth:`write`."""

    def __init__(self, database: Database, index_rows: IndexRows | None = None,
                 prepare_index: Callable[[Connection], None] | None = None, outbox=None):
        self.database = database
        # With a search engine outside the database: written keys go to its outbox in the write's own
        # transaction, and ``outbox.committed(keys)`` is told after the commit (``search/backends/elasticsearch_sync.py``).
        self.outbox = outbox
        self.index_rows = index_rows or (lambda resource_type, id_, resource, prepared=None: {})
        # Called at the start of every write transaction, e.g. to pick up SearchParameters another process stored.
        self.prepare_index = prepare_index or (lambda connection: None)
        self.multiple_values_recorded: set[tuple[str, str, str]] = set()  # committed rows of multiple_values

    @contextmanager
    def reading(self, connection: Connection | None = None) -> Iterator[Connection]:
        """``connection`` if given (a transaction's own), else a new read transaction with one snapshot."""
        if connection is not None:
            yield connection
        else:
            with self.database.read() as fresh:
                yield fresh

    def read(self, resource_type: str, id_: str, connection: Connection | None = None) -> StoredVersion:
        """The current version; NotFound if it never existed, Gone if its newest version is a deletion."""
        with self.reading(connection) as connection:
            version = current_version(connection, resource_type, id_)
        if version is None:
            raise NotFound(f"Resource `{resource_type}/{id_}` was not found.")
        if version.deleted:
            raise Gone(f"Resource `{resource_type}/{id_}` was deleted.",
                       version_id=version.version_id, last_updated=version.last_updated)
        return version

    def vread(self, resource_type: str, id_: str, version_id: int,
              connection: Connection | None = None) -> StoredVersion:
        with self.reading(connection) as connection:
            row = connection.execute(version_by_number, {"resource_type": resource_type, "id": id_,
                                                          "version_id": version_id}).first()
        if row is None:
            raise NotFound(f"Version `{version_id}` of resource `{resource_type}/{id_}` was not found.")
        version = to_version(row)
        if version.deleted:
            raise Gone(f"Version `{version_id}` of resource `{resource_type}/{id_}` is a deletion.",
                       version_id=version.version_id, last_updated=version.last_updated)
        return version

    def history(self, *, resource_type: str | None = None, id_: str | None = None, since_ms: int | None = None,
                before_seq: int | None = None, limit: int = 50,
                connection: Connection | None = None) -> list[StoredVersion]:
        """Versions newest first, optionally of one type or resource, since an instant, before a cursor."""
        statement = select(*VERSION_COLUMNS).order_by(resource_versions.c.seq.desc()).limit(limit)
        if resource_type is not None:
            statement = statement.where(resource_versions.c.resource_type == resource_type)
        if id_ is not None:
            statement = statement.where(resource_versions.c.id == id_)
        if since_ms is not None:
            statement = statement.where(resource_versions.c.last_updated >= since_ms)
        if before_seq is not None:
            statement = statement.where(resource_versions.c.seq < before_seq)
        with self.reading(connection) as connection:
            return [to_version(row) for row in connection.execute(statement)]


    @contextmanager
    def write(self) -> Iterator["WriteSession"]:
        """One all-or-nothing database transaction."""
        with self.database.write() as connection:
            self.prepare_index(connection)
            session = WriteSession(connection, self.index_rows, self.multiple_values_recorded,
                                   keep_indexed=self.outbox is not None)
            yield session
            session.flush()
            if self.outbox is not None and session.changed:
                record_in_outbox(connection, session.changed)
        self.multiple_values_recorded.update(session.multiple_values)
        if self.outbox is not None and session.changed:
            self.outbox.committed(session.changed, session.indexed)


CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"  # what an update did


@dataclass(frozen=True, slots=True)
class Indexed:
    """A version as the write indexed it: the resource as served and its index rows per table."""

    version_id: int
    last_updated: int
    resource: dict
    rows: dict[str, list[dict]]


class WriteSession:
    """Writes inside one database transaction; every method keeps the version rules of FHIR."""

    def __init__(self, connection: Connection, index_rows: IndexRows,
                 multiple_values_recorded: set[tuple[str, str, str]] = frozenset(), keep_indexed: bool = False):
        self._connection = connection
        self._index_rows = index_rows
        self._new_resources: list[dict] = []
        self._new_versions: list[dict] = []
        self._unflushed: set[tuple[str, str]] = set()  # (type, id) with buffered resource or version rows
        self._new_index_rows: dict[str, list[dict]] = {}
        self._multiple_values_recorded = multiple_values_recorded
        self.multiple_values: set[tuple[str, str, str]] = set()  # (index table, type, param) this session saw
        self._multiple_values_flushed: set[tuple[str, str, str]] = set()
        self._prefetched: dict[tuple[str, str], StoredVersion | None] = {}
        self.changed: set[tuple[str, str]] = set()  # (type, id) of every resource written or reindexed
        # With ``keep_indexed``, what each stored version was indexed from, so that a search engine outside the
        # database gets its documents without parsing and extracting again: (type, id) -> Indexed.
        self.indexed: dict[tuple[str, str], Indexed] | None = {} if keep_indexed else None

    @property
    def connection(self) -> Connection:
        """The transaction's connection with every buffered row written, for searches inside it."""
        self.flush()
        return self._connection

    def flush(self) -> None:
        if self._new_resources:
            insert_many(self._connection, resources, self._new_resources)
            self._new_resources = []
        if self._new_versions:
            insert_many(self._connection, resource_versions, self._new_versions)
            self._new_versions = []
        self._unflushed.clear()
        for table, rows in self._new_index_rows.items():
            if rows:
                insert_many(self._connection, INDEX_TABLES[table], rows)
        self._new_index_rows = {}
        unrecorded = self.multiple_values - self._multiple_values_recorded - self._multiple_values_flushed
        if unrecorded:
            self._connection.execute(insert_ignoring_duplicates(self._connection, multiple_values).values(
                [dict(zip(("index_table", "resource_type", "param"), key)) for key in sorted(unrecorded)]))
            self._multiple_values_flushed |= unrecorded

    def lock(self, key: str) -> None:
        """Serialize transactions that use the same key, e.g. one conditional create's criteria.

        SQLite writers are serialized already; PostgreSQL takes a transaction-scoped advisory lock.
        """
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(_lock_one, {"key": _lock_key(key)})

    def current(self, resource_type: str, id_: str) -> StoredVersion | None:
        """The newest version, no other writer can change it until this transaction ends; None if the
        resource never existed.

        The lock is taken before reading, so under PostgreSQL's READ COMMITTED the read sees the
        version a writer that held the lock before us committed. (Locking the row itself with FOR UPDATE
        is not enough: the re-checked row would be joined with the stale version row, and a resource
        that does not exist yet has no row to lock.)
        """
        key = (resource_type, id_)
        if key in self._prefetched:  # locked and read already, and not written since: the first lookup uses it
            return self._prefetched.pop(key)
        self.lock(f"{resource_type}/{id_}")
        # Only this resource's own buffered rows can change the answer: flushing for every lookup would
        # write a bulk load's rows one by one instead of in batches.
        connection = self.connection if key in self._unflushed else self._connection
        return current_version(connection, resource_type, id_)

    def prefetch(self, keys: list[tuple[str, str]]) -> None:
        """Lock and read the current versions of many resources at once, for the next :meth:`current` of
        each: a bulk load's batch costs a few queries instead of one per resource."""
        keys = sorted(set(keys) - self._unflushed - self._prefetched.keys())
        if self._connection.dialect.name == "postgresql":
            for start in range(0, len(keys), _PREFETCH_CHUNK):
                self._connection.execute(_lock_many, {"keys": [_lock_key(f"{resource_type}/{id_}") for
                                                               resource_type, id_ in keys[start:start + _PREFETCH_CHUNK]]})
        by_type: dict[str, list[str]] = {}
        for resource_type, id_ in keys:
            by_type.setdefault(resource_type, []).append(id_)
        self.flush()
        for resource_type, ids in by_type.items():
            for start in range(0, len(ids), _PREFETCH_CHUNK):
                chunk = ids[start:start + _PREFETCH_CHUNK]
                self._prefetched.update(((resource_type, id_), None) for id_ in chunk)
                for row in self._connection.execute(current_of_many, {"resource_type": resource_type, "ids": chunk}):
                    self._prefetched[(resource_type, row.id)] = to_version(row)

    def is_new(self, resource_type: str, id_: str) -> bool:
        """Known, from :meth:`prefetch`, never to have existed, and not written since."""
        key = (resource_type, id_)
        return key in self._prefetched and self._prefetched[key] is None

    def create_served(self, resource_type: str, id_: str, tail: bytes, method: str, prepared: dict) -> StoredVersion:
        """Store the first version of a resource that :meth:`is_new` (or has a fresh id) from its
        ``served.served_tail`` and index rows made by a validation worker: a bulk load's write that neither
        parses nor serializes the resource."""
        self._prefetched.pop((resource_type, id_), None)
        last_updated = _now_ms()
        version = StoredVersion(resource_type, id_, 1, last_updated, method,
                                served_body(resource_type, id_, 1, last_updated, tail))
        self._new_resources.append(_resource_row(version))
        # What the write sets is all the index needs besides the prepared rows (SearchEngine.index_rows).
        served = {"resourceType": resource_type, "id": id_,
                  "meta": {"versionId": "1", "lastUpdated": format_instant(last_updated)}}
        self._remember(version, served, prepared)
        return version

    def create(self, resource: dict, *, id_: str | None = None, prepared: dict | None = None) -> StoredVersion:
        """Store a new resource under a fresh server-assigned id (or ``id_``, known to be unused).
        ``prepared``: index rows computed before the write, see ``SearchEngine.index_rows``."""
        return self._insert_first(resource, id_ or new_id(), "POST", prepared)

    def update(self, resource: dict, id_: str, *, if_match: int | None = None, method: str = "PUT",
               prepared: dict | None = None) -> tuple[StoredVersion, str]:
        """Store a new version (or the first); returns the current version and what happened to the
        resource: ``created``, ``updated`` or ``unchanged``.

        An update that changes nothing but meta.versionId and meta.lastUpdated keeps the current
        version, as HAPI FHIR does, so reloading the same data is harmless.
        """
        resource_type = resource["resourceType"]
        current = self.current(resource_type, id_)
        _check_if_match(current, if_match, resource_type, id_)
        if current is None:
            return self._insert_first(resource, id_, method, prepared), CREATED
        now = max(_now_ms(), current.last_updated)
        if not current.deleted:
            unchanged, _ = self._served(resource, id_, current.version_id, method, current.last_updated)
            if unchanged.body == current.body:
                return current, UNCHANGED
        version, served = self._served(resource, id_, current.version_id + 1, method, now)
        self._replace_current(version, deleted=False)
        self._forget_index(resource_type, id_)
        self._remember(version, served, prepared)
        return version, CREATED if current.deleted else UPDATED

    def delete(self, resource_type: str, id_: str, *, if_match: int | None = None) -> StoredVersion | None:
        """Record a deletion version; None when there was nothing to delete."""
        current = self.current(resource_type, id_)
        _check_if_match(current, if_match, resource_type, id_)
        if current is None or current.deleted:
            return None
        version = StoredVersion(resource_type, id_, current.version_id + 1,
                                max(_now_ms(), current.last_updated), "DELETE", None)
        self._replace_current(version, deleted=True)
        self._forget_index(resource_type, id_)
        self._new_versions.append(_version_row(version))
        self._unflushed.add((resource_type, id_))
        self.changed.add((resource_type, id_))
        return version

    def reindex(self, resource_type: str, ids: list[str]) -> int:
        """Rebuild the index rows of these resources' current versions; returns how many exist and are not deleted."""
        for id_ in ids:
            self.lock(f"{resource_type}/{id_}")
        self.flush()
        versions = self._connection.execute(current_versions.where(
            resources.c.resource_type == resource_type, resources.c.id.in_(ids), resources.c.deleted.is_(False))).all()
        live = [row.id for row in versions]
        value_indexes.ensure_per_resource(self._connection)
        for table in INDEX_TABLES.values():
            self._connection.execute(delete(table).where(table.c.resource_type == resource_type,
                                                         table.c.resource_id.in_(live)))
        for row in versions:
            self._add_index_rows(resource_type, row.id, json_codec.parse(row.body))
        self.changed.update((resource_type, id_) for id_ in live)
        return len(live)

    def _insert_first(self, resource: dict, id_: str, method: str, prepared: dict | None) -> StoredVersion:
        version, served = self._served(resource, id_, 1, method, _now_ms())
        self._new_resources.append(_resource_row(version))
        self._remember(version, served, prepared)
        return version

    def _replace_current(self, version: StoredVersion, *, deleted: bool) -> None:
        self._connection.execute(
            update(resources)
            .where(resources.c.resource_type == version.resource_type, resources.c.id == version.id)
            .values(version_id=version.version_id, last_updated=version.last_updated, deleted=deleted)
        )

    def _forget_index(self, resource_type: str, id_: str) -> None:
        self.flush()
        value_indexes.ensure_per_resource(self._connection)
        for table in INDEX_TABLES.values():
            self._connection.execute(
                delete(table).where(table.c.resource_type == resource_type, table.c.resource_id == id_)
            )

    def _remember(self, version: StoredVersion, served: dict, prepared: dict | None = None) -> None:
        self._new_versions.append(_version_row(version))
        self._unflushed.add((version.resource_type, version.id))
        self.changed.add((version.resource_type, version.id))
        rows = self._add_index_rows(version.resource_type, version.id, served, prepared)
        if self.indexed is not None:
            self.indexed[(version.resource_type, version.id)] = Indexed(version.version_id, version.last_updated,
                                                                         served, rows)

    def _add_index_rows(self, resource_type: str, id_: str, resource: dict,
                        prepared: dict | None = None) -> dict[str, list[dict]]:
        indexed = self._index_rows(resource_type, id_, resource, prepared)
        for table, rows in indexed.items():
            self._new_index_rows.setdefault(table, []).extend(rows)
            if len(rows) > 1:
                params = [row["param"] for row in rows]
                distinct = set(params)
                if len(distinct) < len(params):
                    for param in distinct:
                        key = (table, resource_type, param)
                        if key not in self.multiple_values and params.count(param) > 1:
                            self.multiple_values.add(key)
        return indexed

    @staticmethod
    def _served(resource: dict, id_: str, version_id: int, method: str,
                last_updated: int) -> tuple[StoredVersion, dict]:
        """The version to store and the resource as served (what the index is built from)."""
        served = with_server_fields(resource, id_, version_id, last_updated)
        return StoredVersion(resource["resourceType"], id_, version_id, last_updated, method,
                             json_codec.dump(served)), served


def _check_if_match(current: StoredVersion | None, if_match: int | None, resource_type: str, id_: str) -> None:
    if if_match is None:
        return
    if current is None or current.deleted or current.version_id != if_match:
        found = "no current version" if current is None or current.deleted else f"version `{current.version_id}`"
        raise PreconditionFailed(
            f"If-Match asked for version `{if_match}` of `{resource_type}/{id_}`, but it has {found}."
        )


def _resource_row(version: StoredVersion) -> dict:
    return {"resource_type": version.resource_type, "id": version.id, "version_id": version.version_id,
            "last_updated": version.last_updated, "deleted": False}


def _version_row(version: StoredVersion) -> dict:
    return {"resource_type": version.resource_type, "id": version.id, "version_id": version.version_id,
            "last_updated": version.last_updated, "method": version.method, "body": version.body}


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
