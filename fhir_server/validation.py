"""Validating and indexing many resources on every core: a bulk load hands each batch to a pool of processes
while the importing process stores the batch before it (model validation and index extraction were three
fifths of the time a resource took to load, and both hold Python's GIL).

Workers run the same check as every write, ``resources.validate``. For each resource they send back the
message and element path of its first problem, or None and its index rows under R4's search parameters
(without those over what the write sets: ``SearchEngine.index_rows`` adds them, and computes every row
itself while a custom SearchParameter is in effect).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from fhir_server import resources
from fhir_server.definitions import r4
from fhir_server.errors import FhirError
from fhir_server.search.index import SearchIndex
from fhir_server.search.parameters import Registry

log = logging.getLogger(__name__)

Problem = tuple[str, str | None]  # the validator's message, and the element path it names
Prepared = tuple[Problem | None, dict | None]  # a problem, or the index rows of a valid resource (or None)
Pending = Callable[[], list[Prepared]]  # what a submitted batch became, waited for when called

_SMALL = 64  # fewer resources than this are validated in the calling process: the round trip costs more


def problem(resource: dict) -> Problem | None:
    try:
        resources.validate(resource)
    except FhirError as error:
        paths = [path for issue in error.issues for path in issue.expression]
        return error.message, paths[0] if paths else None
    return None


def checked(batch: list[dict]) -> list[Prepared]:
    """In the calling process: only the problems (its writes extract index rows with the current registry)."""
    return [(problem(resource), None) for resource in batch]


_index: SearchIndex | None = None  # a worker's, over R4's search parameters


def prepared(batch: list[dict]) -> list[Prepared]:
    """In a worker: the problem of each resource, or its index rows."""
    results = []
    for resource in batch:
        found = problem(resource)
        results.append((found, _index.rows_before_write(resource) if found is None else None))
    return results


class Validator:
    """Validates batches in ``workers`` processes (0: one per core; 1: in the calling process), started at the
    first large batch and stopped by :meth:`close`, so a server that is asked to stop has nothing left running."""

    def __init__(self, workers: int = 0):
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, batch: list[dict]) -> Pending:
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
