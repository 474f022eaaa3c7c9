"""Validating and indexing many resources on every core: a bulk load hands each batch to a pool of processes
while the importing process stores the batch before it (model validation and index extraction were three
fifths of the time a resource took to load, and both hold Python's GIL).

Workers run the same check as every write, ``resources.validate``. For each resource they send back the
message and element path of its first problem, or None and its index rows under R4's search parameters
(without those over what the write sets: ``SearchEngine.index_rows`` adds them, and computes every row
itself while a custom SearchParameter is in effect).

An NDJSON line (``bulk/ndjson.Line``) is parsed where it is validated: a worker sends back, as :class:`Loaded`,
the resource's type, id, index rows and its JSON as served after the server's fields
(``storage/served.py``), so the importing process stores a new resource without parsing or serializing it.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Callable

from fhir_server import garbage_collection, resources
from fhir_server.bulk import ndjson
from fhir_server.definitions import r4
from fhir_server.errors import FhirError
from fhir_server.search.index import SearchIndex
from fhir_server.search.parameters import Registry
from fhir_server.storage.served import served_tail
from mappers.base import Rejected

log = logging.getLogger(__name__)

Problem = tuple[str, str | None]  # the validator's message, and the element path it names


@dataclass(frozen=True, slots=True)
class Loaded:
    """A valid NDJSON line: in a worker its type, id (None: to be created), index rows and served tail (None if
    the id is not one a PUT takes); in the calling process the parsed resource instead."""

    resource_type: str
    id: str | None
    rows: dict | None = None
    tail: bytes | None = None
    resource: dict | None = None

    def __reduce__(self):  # as ndjson.Line's: unpickled for every line in the importing process
        return Loaded, (self.resource_type, self.id, self.rows, self.tail, self.resource)


# For a resource: its problem, or None and its index rows (or None). For a line: why it is rejected, or None and
# what it became.
Prepared = tuple[Problem | None, dict | Loaded | None]
Pending = Callable[[], list[Prepared]]  # what a submitted batch became, waited for when called

_SMALL = 64  # fewer resources than this are validated in the calling process: the round trip costs more


def problem(resource: dict) -> Problem | None:
    try:
        resources.validate(resource)
    except FhirError as error:
        paths = [path for issue in error.issues for path in issue.expression]
        return error.message, paths[0] if paths else None
    return None


def checked(batch: list[dict | ndjson.Line]) -> list[Prepared]:
    """In the calling process: only the problems (its writes extract index rows with the current registry)."""
    return [_line(item, worker=False) if isinstance(item, ndjson.Line) else (problem(item), None) for item in batch]


_index: SearchIndex | None = None  # a worker's, over R4's search parameters


def prepared(batch: list[dict | ndjson.Line]) -> list[Prepared]:
    """In a worker: the problem of each resource, or its index rows; of each line, what it became."""
    results = []
    for item in batch:
        if isinstance(item, ndjson.Line):
            results.append(_line(item, worker=True))
            continue
        found = problem(item)
        results.append((found, _index.rows_before_write(item) if found is None else None))
    return results


def _line(line: ndjson.Line, worker: bool) -> Prepared:
    record = ndjson.parsed(line)
    if isinstance(record, Rejected):
        return (record.reason, record.field), None
    resource = record.resources[0]
    found = problem(resource)
    if found is not None:
        return (f"invalid {resource['resourceType']}: {found[0]}", found[1]), None
    resource_type, id_ = resource["resourceType"], resource.get("id")
    tail = served_tail(resource) if worker and (id_ is None or isinstance(id_, str) and resources.is_id(id_)) else None
    if tail is None:
        return None, Loaded(resource_type, id_, resource=resource)
    return None, Loaded(resource_type, id_, _index.rows_before_write(resource), tail)


class Validator:
    """Validates batches in ``workers`` processes (0: one per core; 1: in the calling process), started at the
    first large batch and stopped by :meth:`close`, so a server that is asked to stop has nothing left running."""

    def __init__(self, workers: int = 0):
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, batch: list[dict | ndjson.Line]) -> Pending:
        if self.workers <= 1 or len(batch) < _SMALL:
            return lambda: checked(batch)
        try:
            pool = self._started()
            size = -(-len(batch) // (self.workers * 2))  # two chunks per worker evens out their finishing times
            futures = [pool.submit(prepared, batch[start:start + size]) for start in range(0, len(batch), size)]
        except (BrokenProcessPool, RuntimeError, OSError):
            self.close()
            return lambda: checked(batch)

        def wait() -> list[Prepared]:
            try:
                return [found for future in futures for found in future.result()]
            except BrokenProcessPool:  # a worker died (killed, out of memory): the work is still to be done
                log.warning("a validation worker died; validating this batch in the importing process")
                self.close()
                return checked(batch)
        return wait

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _started(self) -> ProcessPoolExecutor:
        """Workers fork from a clean server process that has imported the models once (forkserver), not from
        this one, which may hold threads and open database connections."""
        if self._pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["fhir_server.validation"])
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_warm)
        return self._pool


def _warm() -> None:
    """Load the models and compile the search parameters before the first batch arrives."""
    global _index
    resource_types = resources.supported_resource_types()
    _index = SearchIndex(Registry(r4()["searchParameters"], resource_types), resource_types)
    garbage_collection.for_a_worker()
