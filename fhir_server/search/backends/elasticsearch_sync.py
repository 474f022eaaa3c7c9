"""Keeping the Elasticsearch indexes in step with the database, which stays the source of truth.

- After each commit the written resources' documents are brought up to date at once (with
  ``refresh=wait_for`` by default, so the write returns searchable). If the cluster cannot be reached,
  the keys stay in the outbox (``storage/outbox.py``) and a timer in every server process retries.
- Documents carry the resource's version as an external version, so of two processes pushing the
  same resource the older version can never overwrite the newer (``external_gte``: a reindex writes
  the same version again).
- ``reindex`` rebuilds a type's index from the database with ``_bulk``, streaming in id order;
  ``reconcile`` compares database and index by id and version and repairs what differs.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from elasticsearch import ApiError, TransportError
from sqlalchemy import Connection, func, select

from fhir_server import json_codec
from fhir_server.search.backends import elasticsearch_documents as documents
from fhir_server.storage import outbox
from fhir_server.storage.tables import resource_versions, resources
from fhir_server.storage.versions import current_versions

log = logging.getLogger(__name__)
BATCH = 1000  # resources per _bulk request
_UNREACHABLE = (TransportError, ApiError)


class BulkRefused(Exception):
    """The engine refused some documents of a _bulk request (other than as outdated versions)."""


@dataclass
class Differences:
    """What reconcile found for one resource type: ids only in the database, only in the index, older in
    the index than in the database, and newer in the index (an index kept from other data, or a
    database restored from an older backup)."""

    resource_type: str
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)
    ahead: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.missing) + len(self.extra) + len(self.stale) + len(self.ahead)


class Synchronizer:
    def __init__(self, backend, engine, database):
        self.backend, self.engine, self.database = backend, engine, database
        self._timer: threading.Timer | None = None
        self._stopped = False

    def committed(self, keys: set[tuple[str, str]], indexed: dict | None = None) -> None:
        """A write committed: push its resources now; on failure they wait in the outbox. ``indexed`` holds
        what the write indexed each version from (``repository.Indexed``), which spares parsing it again."""
        try:
            self.drain(keys, indexed)
        except (*_UNREACHABLE, BulkRefused) as error:
            log.warning("search index behind the database (%d resources wait in the outbox): %s", len(keys), error)
        except Exception:  # noqa: BLE001 - the write is committed and its keys are in the outbox: never a 500
            log.exception("pushing %d resources to the search index failed; they wait in the outbox", len(keys))

    def drain(self, keys: set[tuple[str, str]] | None = None, indexed: dict | None = None) -> int:
        """Push the outbox's resources (only ``keys``' when given) and clear their rows; how many were pushed."""
        if keys is not None:
            ordered = sorted(keys)
            return sum(self._drain_batch(set(ordered[start:start + BATCH]), indexed)
                       for start in range(0, len(ordered), BATCH))
        pushed = 0
        while True:
            done = self._drain_batch(None)
            if not done:
                return pushed
            pushed += done

    def _drain_batch(self, keys: set[tuple[str, str]] | None, indexed: dict | None = None) -> int:
        """One ``_bulk`` request's worth: the outbox rows of ``keys``, else the oldest ``BATCH``."""
        with self.database.read() as connection:
            rows = outbox.pending(connection, BATCH, keys)
            if not rows:
                return 0
            self.push(connection, {(resource_type, id_) for _, resource_type, id_ in rows}, indexed=indexed)
        with self.database.write() as connection:
            outbox.done(connection, [seq for seq, _, _ in rows])
        return len(rows)

    def push(self, connection: Connection, keys: set[tuple[str, str]], refresh: str | None = None,
             indexed: dict | None = None) -> None:
        """Bring the documents of these resources to their current versions (a deleted or unknown one
        is removed). The database says which version is current; ``indexed`` may hold it ready."""
        by_type: dict[str, list[str]] = {}
        for resource_type, id_ in sorted(keys):
            by_type.setdefault(resource_type, []).append(id_)
        operations = []
        for resource_type, ids in by_type.items():
            self.backend.ensure_index(resource_type)
            found = {row.id: row for row in connection.execute(current_versions.where(
                resources.c.resource_type == resource_type, resources.c.id.in_(ids)))}
            for id_ in ids:
                operations += self._operations(resource_type, id_, found.get(id_),
                                               ready=(indexed or {}).get((resource_type, id_)))
        self._bulk(operations, refresh)

    def _operations(self, resource_type: str, id_: str, row, index: str | None = None, ready=None) -> list[dict]:
        name = index or self.backend.index_name(resource_type)
        if row is None or row.body is None:
            versioned = {"version": row.version_id, "version_type": "external_gte"} if row is not None else {}
            return [{"delete": {"_index": name, "_id": id_, **versioned}}]
        if ready is None or ready.version_id != row.version_id:  # another write came since: index what is stored
            resource = json_codec.parse(row.body)
            rows = self.engine.index.rows(resource_type, id_, resource)
        else:
            resource, rows = ready.resource, ready.rows
        rows = self.engine.index.with_unions(resource_type, rows)  # a document holds every parameter's values
        return [{"index": {"_index": name, "_id": id_, "version": row.version_id, "version_type": "external_gte"}},
                documents.document(id_, row.last_updated, resource, rows,
                                   documents.sortable(self.engine.index.fields(resource_type)))]

    def _bulk(self, operations: list[dict], refresh: str | None = None) -> None:
        if not operations:
            return
        refresh = self.backend.refresh if refresh is None else refresh
        answer = self.backend.client.bulk(operations=operations, refresh={"false": False, "true": True}.get(refresh, refresh))
        if not answer["errors"]:
            return
        refused = [(kind, result) for item in answer["items"] for kind, result in item.items()
                   if result.get("status", 200) >= 300 and result["status"] != 409  # an older version than stored
                   and not (kind == "delete" and result["status"] == 404)]  # nothing to delete
        if refused:
            kind, result = refused[0]
            raise BulkRefused(f"{len(refused)} of {len(answer['items'])} refused, first {kind} "
                              f"`{result.get('_id')}`: {result.get('error')}")

    def start(self, seconds: int) -> None:
        """Retry the outbox every ``seconds`` in this process, until :meth:`stop`."""
        def tick():
            try:
                drained = self.drain()
                if drained:
                    log.info("search index caught up with %d resources from the outbox", drained)
            except (*_UNREACHABLE, BulkRefused) as error:
                log.debug("outbox still waiting: %s", error)
            except Exception:  # noqa: BLE001 - the timer must survive a bad pass; the cause is logged
                log.exception("outbox pass failed")
            if not self._stopped:
                self.start(seconds)

        self._timer = threading.Timer(seconds, tick)
        self._timer.daemon = True
        self._timer.start()

    def stop(self) -> None:
        self._stopped = True  # a pass running now does not start another
        if self._timer is not None:
            self._timer.cancel()

    def reindex(self, resource_type: str, progress: Callable[[int], None] = lambda done: None) -> int:
        """Rebuild the type's index from the database into a new index, streaming its current resources
        in id order with ``_bulk``, then point the type's alias at it in one step and drop the old one:
        searches use the old index until the new one is whole. Resources written meanwhile went to the
        old index, so they are pushed again afterwards."""
        self.backend.ensure_index(resource_type)
        with self.database.read() as connection:
            started = connection.execute(select(func.max(resource_versions.c.seq))).scalar_one() or 0
        fresh = self.backend.new_index(resource_type, str(time.time_ns() // 1_000_000), alias=False)
        done = 0
        for rows in _current(self.database, resource_type):
            operations = []
            for row in rows:
                operations += self._operations(resource_type, row.id, row, index=fresh)
            self._bulk(operations, refresh="false")
            done += len(rows)
            progress(done)
        client, alias = self.backend.client, self.backend.index_name(resource_type)
        client.indices.refresh(index=fresh)
        old = list(client.indices.get_alias(name=alias)) if client.indices.exists_alias(name=alias) else []
        actions = [{"remove": {"index": name, "alias": alias}} for name in old]
        if not old and client.indices.exists(index=alias):
            actions.append({"remove_index": {"index": alias}})  # a concrete index under the alias's name
        client.indices.update_aliases(actions=actions + [{"add": {"index": fresh, "alias": alias}}])
        for name in old:
            client.indices.delete(index=name)
        with self.database.read() as connection:
            written = connection.execute(select(resource_versions.c.id).distinct().where(
                resource_versions.c.resource_type == resource_type, resource_versions.c.seq > started)).scalars().all()
            for start in range(0, len(written), BATCH):
                self.push(connection, {(resource_type, id_) for id_ in written[start:start + BATCH]})
        return done

    def reconcile(self, resource_type: str, repair: bool = False) -> Differences:
        """Compare the database's current resources of a type with the index, by id and version, both
        streamed in id order; with ``repair``, bring the index in line (:meth:`_repair`)."""
        self.backend.ensure_index(resource_type)
        self.backend.client.indices.refresh(index=self.backend.index_name(resource_type))
        differences = Differences(resource_type)
        stored = ((row.id, row.version_id) for rows in _current(self.database, resource_type, versions_only=True)
                  for row in rows)
        indexed = self._indexed(resource_type)
        database_item, index_item = next(stored, None), next(indexed, None)
        while database_item is not None or index_item is not None:
            if index_item is None or (database_item is not None and database_item[0] < index_item[0]):
                differences.missing.append(database_item[0])
                database_item = next(stored, None)
            elif database_item is None or index_item[0] < database_item[0]:
                differences.extra.append(index_item[0])
                index_item = next(indexed, None)
            else:
                if database_item[1] != index_item[1]:
                    (differences.stale if index_item[1] < database_item[1] else differences.ahead).append(
                        database_item[0])
                database_item, index_item = next(stored, None), next(indexed, None)
        if repair and differences.total:
            self._repair(differences)
        return differences

    def _repair(self, differences: Differences) -> None:
        """Push what differs; a document the engine will not write over (newer than the database, or a
        deletion it remembers at a higher version) leaves a difference, and then the index is rebuilt."""
        resource_type = differences.resource_type
        ordered = sorted({(resource_type, id_) for id_ in differences.missing + differences.extra + differences.stale})
        for start in range(0, len(ordered), BATCH):
            with self.database.read() as connection:
                self.push(connection, set(ordered[start:start + BATCH]), refresh="false")
        self.backend.client.indices.refresh(index=self.backend.index_name(resource_type))
        if differences.ahead or self.reconcile(resource_type).total:
            self.reindex(resource_type)

    def _indexed(self, resource_type: str) -> Iterator[tuple[str, int]]:
        for hit in self.backend.scan(resource_type, version=True, size=BATCH):
            yield hit["_id"], hit["_version"]


def _current(database, resource_type: str, versions_only: bool = False) -> Iterator[list]:
    """The type's current, non-deleted versions in batches, in byte order of id (the index's order)."""
    after = ""
    while True:
        with database.read() as connection:
            order = resources.c.id.collate("C" if connection.dialect.name == "postgresql" else "BINARY")
            if versions_only:
                statement = select(resources.c.id, resources.c.version_id).where(
                    resources.c.resource_type == resource_type, resources.c.deleted.is_(False))
            else:
                statement = current_versions.where(resources.c.resource_type == resource_type,
                                                   resources.c.deleted.is_(False))
            rows = connection.execute(statement.where(order > after).order_by(order).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        after = rows[-1].id
