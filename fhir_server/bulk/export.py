"""Writing a bulk export's NDJSON files (https://hl7.org/fhir/uv/bulkdata/STU2/export.html#file-request):
type by type, in id order, a page at a time, straight from the stored bytes.

The export holds the resources as they were at its transactionTime (the kick-off), as the Bulk Data IG asks:
a resource changed while the export runs is written as it was then, one created since is left out, and one
deleted since is written as it was then, after the type's other resources. That last holds for a system-level
export without `_typeFilter`: a deleted resource has no search index rows left to judge a filter or a patient
compartment by, so Patient- and Group-level exports and filtered types leave it out (known limit, see README).

Memory holds one page whatever the export's size. After every page the exporter hands its progress (the
type, the last id written, the open file's length) to a checkpoint, which persists it; an export resumed
from a checkpoint cuts the open file back to the recorded length and goes on after the recorded id, so
every resource is written exactly once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

from fhir_server.bulk import export_request
from fhir_server.bulk.export_request import ExportRequest
from fhir_server.paging import Cursor
from fhir_server.pipeline import Context
from fhir_server.storage.instants import parse_fhir_instant
from fhir_server.storage.versions import StoredVersion, deleted_after, versions_at

PAGE = 2000  # resources read per query


@dataclass
class Progress:
    type_index: int = 0  # of the type being exported, in the request's types
    after: str | None = None  # the last id written of that type
    open_file: dict | None = None  # the file being written: name, count, bytes
    files: list[dict] = field(default_factory=list)  # finished files: type, name, count
    exported: int = 0  # resources written, in all files
    deleted_since: bool = False  # writing the type's resources deleted after the transactionTime (``after``: theirs)

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, stored: dict) -> "Progress":
        return cls(**stored)


Checkpoint = Callable[[Progress], bool]  # persists progress; False means stop (the job was cancelled)


class Exporter:
    def __init__(self, context: Context, export: ExportRequest, folder: Path, max_per_file: int, as_of: int):
        self.context = context
        self.export = export
        self.folder = folder
        self.max_per_file = max_per_file
        self.as_of = as_of  # the transactionTime, in milliseconds
        self.since = parse_fhir_instant(export.since) if export.since else None
        self.page_size = PAGE

    def run(self, progress: Progress, checkpoint: Checkpoint) -> bool:
        """Export from ``progress`` on to the end; False if a checkpoint said to stop."""
        self.folder.mkdir(parents=True, exist_ok=True)
        while progress.type_index < len(self.export.types):
            if not self._export_type(self.export.types[progress.type_index], progress, checkpoint):
                return False
            progress.type_index, progress.after, progress.deleted_since = progress.type_index + 1, None, False
            if not checkpoint(progress):
                return False
        return True

    def _export_type(self, resource_type: str, progress: Progress, checkpoint: Checkpoint) -> bool:
        query = export_request.query(self.context, self.export, resource_type)
        output = _Output(self.folder, resource_type, progress, self.max_per_file)
        try:
            while not progress.deleted_since:
                with self.context.reading() as connection:
                    page = self.context.search.search_database(
                        connection, query, cursor=Cursor([progress.after]) if progress.after else None, limit=self.page_size)
                    bodies = self._as_of(connection, resource_type, [version for version, _ in page])
                if not page:
                    if not self._judges_deleted(resource_type):
                        break
                    progress.deleted_since, progress.after = True, None
                else:
                    output.write(bodies)
                    progress.after = page[-1][0].id
                if not checkpoint(progress):
                    return False
            while progress.deleted_since:
                with self.context.reading() as connection:
                    ids = deleted_after(connection, resource_type, self.as_of, progress.after, self.page_size)
                    then = versions_at(connection, resource_type, ids, self.as_of) if ids else {}
                if not ids:
                    break
                output.write([version.body for version in (then.get(id_) for id_ in ids) if self._held(version)])
                progress.after = ids[-1]
                if not checkpoint(progress):
                    return False
        finally:
            output.close()
        output.finish()
        return True

    def _judges_deleted(self, resource_type: str) -> bool:
        """Whether a resource deleted since the kick-off can be judged: only by the export's `_since`."""
        return self.export.level == export_request.SYSTEM and not self.export.type_filters.get(resource_type)

    def _held(self, version: StoredVersion | None) -> bool:
        """Whether a resource's version at the transactionTime belongs in the export."""
        return version is not None and not version.deleted and (self.since is None or version.last_updated >= self.since)


    def _as_of(self, connection, resource_type: str, page: list[StoredVersion]) -> list[bytes]:
        """The page's bodies as they were at the transactionTime."""
        changed = [version.id for version in page if version.last_updated > self.as_of]
        earlier = versions_at(connection, resource_type, changed, self.as_of) if changed else {}
        bodies = []
        for version in page:
            if version.last_updated > self.as_of:
                version = earlier.get(version.id)
                # Not there then; or it matched `_since` only by the change made after the kick-off.
                if not self._held(version):
                    continue
            bodies.append(version.body)
        return bodies


class _Output:
    """The NDJSON files of one type: ``Observation-1.ndjson``, ``Observation-2.ndjson``, ... of at most
    ``max_per_file`` lines each; the open one is recorded in ``progress.open_file``."""

    def __init__(self, folder: Path, resource_type: str, progress: Progress, max_per_file: int):
        self.folder, self.resource_type, self.progress, self.max_per_file = folder, resource_type, progress, max_per_file
        self.handle = None
        if progress.open_file:  # resuming: drop whatever was written after the checkpoint
            self.handle = (folder / progress.open_file["name"]).open("r+b")
            self.handle.truncate(progress.open_file["bytes"])
            self.handle.seek(progress.open_file["bytes"])

    def write(self, bodies: list[bytes]) -> None:
        while bodies:
            if self.handle is None:
                number = sum(1 for file in self.progress.files if file["type"] == self.resource_type) + 1
                name = f"{self.resource_type}-{number}.ndjson"
                self.handle = (self.folder / name).open("wb")
                self.progress.open_file = {"name": name, "count": 0, "bytes": 0}
            open_file = self.progress.open_file
            taken, bodies = bodies[:self.max_per_file - open_file["count"]], bodies[self.max_per_file - open_file["count"]:]
            chunk = b"\n".join(taken) + b"\n"
            self.handle.write(chunk)
            self.handle.flush()  # the checkpoint records these bytes as written
            open_file["count"] += len(taken)
            open_file["bytes"] += len(chunk)
            self.progress.exported += len(taken)
            if open_file["count"] >= self.max_per_file:
                self._close_file()

    def finish(self) -> None:
        if self.progress.open_file:
            self._close_file()

    def _close_file(self) -> None:
        self.close()
        self.progress.files.append({"type": self.resource_type, "name": self.progress.open_file["name"],
                                    "count": self.progress.open_file["count"]})
        self.progress.open_file = None

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
