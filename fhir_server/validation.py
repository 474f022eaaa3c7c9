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
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Callable

from fhir_server import resources
from fhir_server.errors import FhirError

log = logging.getLogger(__name__)

Problem = tuple[str, str | None]  # the validator's message, and the element path it names
Pending = Callable[[], list[Problem | None]]  # the problems of a submitted batch, waited for when called

_SMALL = 64  # fewer resources than this are validated in the calling process: the round trip costs more


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
    """Validates batches in ``workers`` processes (0: one per core; 1: in the calling process), started at the
    first large batch and stopped by :meth:`close`, so a server that is asked to stop has nothing left running."""

    def __init__(self, workers: int = 0):
        self.workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, batch: list[dict]) -> Pending:
        if self.workers <= 1 or len(batch) < _SMALL:
            return lambda: problems(batch)
        try:
            pool = self._started()
            size = -(-len(batch) // (self.workers * 2))  # two chunks per worker evens out their finishing times
            futures = [pool.submit(problems, batch[start:start + size]) for start in range(0, len(batch), size)]
        except (BrokenProcessPool, RuntimeError, OSError):
            self.close()
            return lambda: problems(batch)

        def wait() -> list[Problem | None]:
            try:
                return [found for future in futures for found in future.result()]
            except BrokenProcessPool:  # a worker died (killed, out of memory): the work is still to be done
                log.warning("a validation worker died; validating this batch in the importing process")
                self.close()
                return problems(batch)
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
    """Load the models before the first batch arrives."""
    resources.supported_resource_types()
