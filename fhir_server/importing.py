"""Loading what a mapper made: each resource validated (fhir.resources, as every write, in a pool of processes:
fhir_server.validation), then written in batches through the pipeline as PUTs with the mapper's deterministic
ids, so importing an export twice creates nothing new and a changed record becomes a new version.

An NDJSON line is parsed in the pool too. A new resource from it is stored from what its worker made (its JSON as
served after the server's fields, and its index rows: ``WriteSession.create_served``) without passing the
pipeline, when the principal may write its type anywhere, which is all the pipeline would check of a new resource;
anything else goes through the pipeline.

Every source record is counted once: read = mapped + rejected. A record whose resource fails validation
is rejected with the element path and the validator's message; the rejects go to an NDJSON file with
their source (file, line, part), field and reason.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import IO, Callable, Iterable

from werkzeug.datastructures import Headers

from fhir_server import garbage_collection, json_codec
from fhir_server.bulk.ndjson import Line
from fhir_server.errors import FhirError
from fhir_server.pipeline import Context, FhirRequest
from fhir_server.security.access import EVERYWHERE
from fhir_server.storage import value_indexes
from fhir_server.storage.ids import new_id
from fhir_server.storage.repository import CREATED, UNCHANGED, UPDATED
from fhir_server.validation import Loaded, Prepared, Validator
from mappers.base import Mapped, Rejected, Result

Record = Result | Line
Valid = tuple[Mapped, list[dict | None]] | tuple[Line, Loaded]  # with the resources' index rows, or what it became

# Writes after which the planner's statistics are refreshed: without them PostgreSQL plans the searches and
# cohorts over a freshly loaded index badly (a three-criterion cohort of 400 patients: 4 s, 30 ms after).
ANALYZE_AFTER = 5_000
_HEADERS = Headers({"Content-Type": "application/fhir+json", "Prefer": "return=minimal"})


@dataclass
class Summary:
    read: int = 0
    mapped: int = 0
    rejected: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    resource_types: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict:
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, recorded: dict) -> Summary:
        """A checkpoint to resume from: ``read`` counts only the records finished (mapped or rejected), as the
        checkpoint may have been taken with a batch read but not yet stored."""
        summary = cls(**{key: value for key, value in recorded.items() if key in cls.__dataclass_fields__})
        summary.read = summary.mapped + summary.rejected
        summary.resource_types = dict(summary.resource_types)
        return summary

    def line(self) -> str:
        return (f"read {self.read}, mapped {self.mapped}, rejected {self.rejected}; resources created "
                f"{self.created}, updated {self.updated}, unchanged {self.unchanged}")


class Importer:
    def __init__(self, context: Context, *, rejects: IO[str] | None = None, dry_run: bool = False,
                 batch_size: int = 2000, base_url: str = "", validator: Validator | None = None,
                 summary: Summary | None = None, defer_indexes_after: int | None = None):
        self.context = context
        self.rejects = rejects
        self.dry_run = dry_run
        self.batch_size = batch_size
        self.base_url = base_url
        self.summary = summary or Summary()  # a resumed job counts on from its checkpoint
        self.validator = validator or Validator(context.settings.validation_workers)
        self.defer_indexes_after = context.settings.import_defer_indexes_after if defer_indexes_after is None \
            else defer_indexes_after
        self._written = 0  # resources this run created or updated
        self._stored_before: int | None = None  # resources the database held before this run, once counted
        self._indexes_decided = False  # whether this run has dropped the value indexes, or will keep them

    def run(self, results: Iterable[Record], progress: Callable[[Summary], None] | None = None) -> Summary:
        """Load every result; each batch is validated in the pool while the one before it is stored."""
        with garbage_collection.rarer_during_bulk_job():
            return self._load(results, progress)

    def _load(self, results: Iterable[Record], progress: Callable[[Summary], None] | None) -> Summary:
        batch: list[Record] = []
        resource_count = 0
        pending = None
        try:
            for result in results:
                self.summary.read += 1
                batch.append(result)
                if isinstance(result, Mapped):
                    resource_count += len(result.if_absent) + len(result.resources)
                elif isinstance(result, Line):
                    resource_count += 1
                if resource_count >= self.batch_size or len(batch) >= self.batch_size:
                    pending = self._advance(pending, batch, progress)
                    batch, resource_count = [], 0
            self._advance(self._advance(pending, batch, progress), [], progress)
        finally:
            self.validator.close()
            # Those this run dropped, and those an import killed before its end left missing.
            if not self.dry_run and value_indexes.missing(self.context.repository.database):
                value_indexes.build(self.context.repository.database)
        if self.summary.created + self.summary.updated >= ANALYZE_AFTER:
            self.context.repository.database.analyze()
        if progress:
            progress(self.summary)
        return self.summary

    def _advance(self, pending, batch: list[Record], progress) -> tuple | None:
        """Submit ``batch`` for validation, then store the valid records of the batch submitted before."""
        submitted = (batch, self.validator.submit([item for record in batch for item in _to_validate(record)])) \
            if batch else None
        if pending is not None:
            results, pending_checks = pending
            self._write(self._valid(results, pending_checks()))
            if progress:
                progress(self.summary)
        return submitted

    def _valid(self, results: list[Record], checks: list[Prepared]) -> list[Valid]:
        """The records all of whose resources are valid, each with its resources' prepared index rows (a line with
        what it became); the others are rejected, in source order, a mapped record for its first invalid resource."""
        valid, found = [], iter(checks)
        for record in results:
            if isinstance(record, Rejected):
                self._reject(record)
                continue
            if isinstance(record, Line):
                problem, loaded = next(found)
                if problem is not None:
                    self._reject(Rejected(record.source, *problem))
                elif loaded.tail is None:  # parsed, but to be stored as a resource
                    valid.append((Mapped(record.source, [loaded.resource]), [loaded.rows]))
                else:
                    valid.append((record, loaded))
                continue
            record_checks = [next(found) for _ in range(len(record.if_absent) + len(record.resources))]
            failed = next(((resource, problem) for resource, (problem, _) in
                           zip((*record.if_absent, *record.resources), record_checks) if problem), None)
            if failed is None:
                valid.append((record, [rows for _, rows in record_checks]))
                continue
            (resource, (message, path)) = failed
            self._reject(Rejected(record.source, f"invalid {resource.get('resourceType')}: {message}", path))
        return valid

    def _write(self, batch: list[Valid]) -> None:
        if not batch:
            return
        if self.dry_run:
            for record, prepared in batch:
                resource_types = _resource_types(record, prepared)
                self._count(resource_types, [None] * len(resource_types))
            return
        try:
            with self.context.transaction() as transaction:
                transaction.session.prefetch([key for record, prepared in batch for key in _keys(record, prepared)])
                outcomes = [self._write_record(transaction, record, prepared) for record, prepared in batch]
        except FhirError:
            # A record failed at write time: load each on its own, so only that one is rejected.
            for record, prepared in batch:
                self._write_one(record, prepared)
            return
        for (record, prepared), record_outcomes in zip(batch, outcomes):
            self._count(_resource_types(record, prepared), record_outcomes)
        self._defer_indexes_if_worthwhile()

    def _defer_indexes_if_worthwhile(self) -> None:
        """A large load goes on without the value indexes and builds them at its end (storage/value_indexes.py)
        once it has written as many resources as the database held before it; without the per-resource ones too
        if it has only created resources so far (an update later builds them again)."""
        if self._indexes_decided or not self.defer_indexes_after or self._written < self.defer_indexes_after:
            return
        database = self.context.repository.database
        if self._stored_before is None:
            self._stored_before = value_indexes.stored_resources(database) - self._written
        if self._written >= self._stored_before:
            self._indexes_decided = True
            value_indexes.drop(database, per_resource=self.summary.updated == 0)

    def _write_one(self, record: Mapped | Line, prepared: list[dict | None] | Loaded) -> None:
        try:
            with self.context.transaction() as transaction:
                outcomes = self._write_record(transaction, record, prepared)
        except FhirError as error:
            self._reject(Rejected(record.source, f"not stored: {error.message}"))
            return
        self._count(_resource_types(record, prepared), outcomes)

    def _write_record(self, transaction: Context, record: Mapped | Line, prepared: list[dict | None] | Loaded) \
            -> list[str]:
        if isinstance(record, Line):
            return [self._store_line(transaction, record, prepared)]
        outcomes, rows = [], iter(prepared)
        for resource in record.if_absent:
            existing = transaction.session.current(resource["resourceType"], resource["id"])
            index_rows = next(rows)
            outcomes.append(UNCHANGED if existing and not existing.deleted else
                            self._store(transaction, resource, index_rows))
        return outcomes + [self._store(transaction, resource, next(rows)) for resource in record.resources]

    def _store_line(self, transaction: Context, line: Line, loaded: Loaded) -> str:
        """A new resource that the principal may write anywhere straight from what its worker made (what the
        pipeline's authorization and compartment checks allow); anything else as :meth:`_store` does, through the
        pipeline: an update, a token confined to a patient's compartment or without the scope, a search engine
        that wants the resource (``WriteSession.indexed``), or index rows that custom SearchParameters change."""
        session, resource_type = transaction.session, loaded.resource_type
        method = "POST" if loaded.id is None else "PUT"
        if (loaded.id is None or session.is_new(resource_type, loaded.id)) and session.indexed is None \
                and self.context.search.uses_prepared_rows(resource_type) \
                and transaction.access.reach(resource_type, "c" if loaded.id is None else "u") == EVERYWHERE:
            session.create_served(resource_type, loaded.id or new_id(), loaded.tail, method, loaded.rows)
            return CREATED
        return self._store(transaction, json_codec.parse(line.text), loaded.rows)

    def _store(self, transaction: Context, resource: dict, index_rows: dict | None) -> str:
        """PUT at the resource's id; one without an id (only NDJSON has those) is created with a new one."""
        method, path = ("PUT", f"{resource['resourceType']}/{resource['id']}") if "id" in resource else \
            ("POST", resource["resourceType"])
        request = FhirRequest(method, path, headers=_HEADERS, base_url=self.base_url, resource=resource,
                              validated=True, index_rows=index_rows)
        return self.context.pipeline.handle(request, transaction).outcome or CREATED

    def _count(self, resource_types: list[str], outcomes: list[str | None]) -> None:
        summary = self.summary
        summary.mapped += 1
        for resource_type, outcome in zip(resource_types, outcomes):
            summary.resource_types[resource_type] = summary.resource_types.get(resource_type, 0) + 1
            summary.created += outcome == CREATED
            summary.updated += outcome == UPDATED
            summary.unchanged += outcome == UNCHANGED
            self._written += outcome in (CREATED, UPDATED)

    def _reject(self, rejected: Rejected) -> None:
        self.summary.rejected += 1
        if self.rejects is not None:
            self.rejects.write(json.dumps(rejected.as_json(), ensure_ascii=False) + "\n")


def _to_validate(record: Record) -> list[dict | Line]:
    if isinstance(record, Mapped):
        return [*record.if_absent, *record.resources]
    return [record] if isinstance(record, Line) else []


def _keys(record: Mapped | Line, prepared: list[dict | None] | Loaded) -> list[tuple[str, str]]:
    """(type, id) of the resources a valid record writes at an id of its own."""
    if isinstance(record, Line):
        return [(prepared.resource_type, prepared.id)] if prepared.id is not None else []
    return [(resource["resourceType"], resource["id"]) for resource in (*record.if_absent, *record.resources)
            if "id" in resource]


def _resource_types(record: Mapped | Line, prepared: list[dict | None] | Loaded) -> list[str]:
    if isinstance(record, Line):
        return [prepared.resource_type]
    return [resource["resourceType"] for resource in (*record.if_absent, *record.resources)]
