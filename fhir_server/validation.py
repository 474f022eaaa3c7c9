"""Validating many resources on every core: a bulk load hands each batch to a pool of processes while the
importing process indexes and stores the batch before it (model validation is two thirds of the time a
resource takes to load, and the models hold Python's GIL).

Workers run the same check as every write, ``resources.validate``; what they send back is the message and
element path of the first problem, or None.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from fhir_server import resources
from fhir_server.errors import FhirError

log = logging.getLogger(__name__)

Problem = tuple[str, str | None]  # the validator's message, and the element path it names
Pending = Callable[[], list[Problem | None]]  # the problems of a submitted batch, waited for when called

_SMALL = 64  # fewer resources than this are validated in the calling process: the round trip costs more
_pools: dict[int, ProcessPoolExecutor] = {}
_pools_lock = threading.Lock()


def problem(resource: dict) -> Problem | None:
    try:
        resources.validate(resource)
    except FhirError as error:
        paths = [path for issue in error.issues for path in issue.expression]
        return error.message, paths[0] if paths else None
    return None


def problems(batch: list[dict]) -> list[Problem | None]:
    return [problem(resource) for resource in batch]


class Validator:
    """Validates batches in ``workers`` processes (0: one per core; 1: in the calling process)."""

    def __init__(self, workers: int = 0):
        self.workers = workers or os.cpu_count() or 1

    def submit(self, batch: list[dict]) -> Pending:
        if self.workers <= 1 or len(batch) < _SMALL:
            return lambda: problems(batch)
        try:
            pool = _pool(self.workers)
            size = -(-len(batch) // (self.workers * 2))  # two chunks per worker evens out their finishing times
            futures = [pool.submit(problems, batch[start:start + size]) for start in range(0, len(batch), size)]
        except (BrokenProcessPool, RuntimeError, OSError):
            _discard(self.workers)
            return lambda: problems(batch)

        def wait() -> list[Problem | None]:
            try:
                return [found for future in futures for found in future.result()]
            except BrokenProcessPool:  # a worker died (killed, out of memory): the work is still to be done
                log.warning("a validation worker died; validating this batch in the importing process")
                _discard(self.workers)
                return problems(batch)
        return wait


def _pool(workers: int) -> ProcessPoolExecutor:
    """One pool per process and size, started on first use. Workers fork from a clean server process that has
    imported the models once (forkserver), not from this one, which may hold threads and open connections."""
    with _pools_lock:
        if workers not in _pools:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["fhir_server.validation"])
            _pools[workers] = ProcessPoolExecutor(workers, mp_context=context, initializer=_warm)
        return _pools[workers]


def _warm() -> None:
    """Load the models before the first batch arrives."""
    resources.supported_resource_types()


def _discard(workers: int) -> None:
    with _pools_lock:
        pool = _pools.pop(workers, None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)
