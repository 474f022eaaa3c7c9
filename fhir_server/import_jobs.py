"""Imports run by the server, in a background thread whose progress is kept in the import_jobs table, so any
server process can report it: an upload (a zip archive of an export) is unpacked into the imports folder and
its source opened and checked at once (an unusable one is refused before a job exists); a bulk `$import`
reads NDJSON files from the server's disk or downloads them.

A job whose server stopped is resumed by the next server process (``resume_stale``): once its worker has
recorded no progress for a lease (``bulk_job_lease_seconds``), one process takes it over, skips the source
records finished by the last checkpoint (re-reading them, not storing them again), cuts the rejects file back
to that checkpoint, and goes on. Records after the checkpoint may be stored a second time: at their ids,
that changes nothing (they count as unchanged); an NDJSON line without an id would be created twice.
"""

from __future__ import annotations

import itertools
import json
import logging
import shutil
import threading
import zipfile
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse
from urllib.error import HTTPError
from urllib.request import HTTPRedirectHandler, build_opener, url2pathname

from fhir_server import json_codec
from fhir_server.bulk import ndjson
from fhir_server.errors import BadRequest, PayloadTooLarge
from fhir_server.import_sources import FORMATS, Options, UnreadableSource, open_source
from fhir_server.importing import Importer, Summary
from fhir_server.pipeline import Context
from fhir_server.storage import import_jobs
from fhir_server.storage.ids import new_id

log = logging.getLogger(__name__)


def folder(context: Context, id_: str) -> Path:
    return Path(context.settings.imports_folder) / id_


def rejects_path(context: Context, id_: str) -> Path:
    return folder(context, id_) / "rejects.ndjson"


def start(context: Context, format_: str, options: Options, archive: Path, dry_run: bool = False) -> str:
    """Unpack ``archive``, open its source and start importing it; the job's id. Raises BadRequest for an
    archive or source that cannot be used (the job is not kept)."""
    if format_ not in FORMATS:
        raise BadRequest(f"`{format_}` is not an import format; the formats are {', '.join(FORMATS)}.")
    id_ = new_id()
    source_folder = folder(context, id_) / "source"
    try:
        _unpack(archive, source_folder, context.settings.max_import_bytes)
        located = _locate(format_, source_folder, options)
        source = open_source(format_, located, context, located_options(options, source_folder))
    except UnreadableSource as error:
        shutil.rmtree(folder(context, id_), ignore_errors=True)
        raise BadRequest(f"The upload cannot be imported: {error}") from None
    except BaseException:
        shutil.rmtree(folder(context, id_), ignore_errors=True)
        raise
    recorded = {"spec": options.spec, "samples": options.samples, "build": options.build,
                "source_system": options.source_system, "dry_run": dry_run}
    owner = new_id()
    import_jobs.create(context.repository.database, id_, format_, {k: v for k, v in recorded.items() if v}, owner)
    _launch(context, id_, source.results, owner, dry_run=dry_run)
    return id_


def located_options(options: Options, source_folder: Path) -> Options:
    """Options whose file names point into the unpacked upload (a shipped spec keeps its name)."""
    spec = options.spec
    if spec and (source_folder / spec).is_file():
        spec = str(source_folder / spec)
    samples = str(source_folder / options.samples) if options.samples else None
    return Options(spec=spec, samples=samples, build=options.build, source_system=options.source_system)


def _locate(format_: str, source_folder: Path, options: Options) -> Path:
    """The folder of tables, or the one VCF file, inside the upload."""
    if format_ != "vcf":
        entries = [path for path in source_folder.iterdir() if not path.name.startswith(".")]
        # An archive of a folder holds the folder: import what is inside it.
        return entries[0] if len(entries) == 1 and entries[0].is_dir() else source_folder
    found = sorted(path for path in source_folder.rglob("*") if path.name.endswith((".vcf", ".vcf.gz")))
    if len(found) != 1:
        raise UnreadableSource(f"a vcf upload holds one .vcf or .vcf.gz file; this one holds {len(found)}")
    return found[0]


def _unpack(archive: Path, target: Path, limit: int) -> None:
    try:
        with zipfile.ZipFile(archive) as unpacked:
            members = unpacked.infolist()
            if sum(member.file_size for member in members) > limit:
                raise PayloadTooLarge("The upload unpacks to more than the server accepts "
                                      "(FHIR_SERVER_MAX_IMPORT_BYTES).")
            for member in members:
                path = PurePosixPath(member.filename)
                if path.is_absolute() or ".." in path.parts:
                    raise BadRequest(f"The archive entry `{member.filename}` points outside the archive.")
            target.mkdir(parents=True)
            unpacked.extractall(target)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError):
        raise BadRequest("The upload is not a zip archive: send the export's files zipped, as application/zip.") \
            from None


def start_inputs(context: Context, inputs: list[dict], request_url: str) -> str:
    """Start a bulk `$import` of NDJSON inputs (``type``, ``url``: file: or http(s):, checked already); its id."""
    id_, owner = new_id(), new_id()
    folder(context, id_).mkdir(parents=True)
    import_jobs.create(context.repository.database, id_, "ndjson", {"inputs": inputs, "request": request_url,
                                                                    "requester": context.access.requester}, owner)
    results = _input_results(folder(context, id_) / "source", inputs, context.settings.import_url_prefixes.split())
    _launch(context, id_, results, owner, outcomes=True)
    return id_


def resume_later(context: Context) -> None:
    """After a (re)start: resume the jobs a stopped server was importing, once their lease has run out, even if
    nobody asks about them."""
    if not import_jobs.stale(context.repository.database, lease_ms=0):
        return
    timer = threading.Timer(context.settings.bulk_job_lease_seconds + 1, _resume_logged, args=(context,))
    timer.daemon = True
    timer.start()


def _resume_logged(context: Context) -> None:
    try:
        resume_stale(context)
    except Exception:  # a background timer has nobody to answer to; the next status request tries again
        log.exception("resuming import jobs failed")


def resume_stale(context: Context) -> None:
    """Take over every running job whose worker has stopped, and resume it from its checkpoint."""
    database = context.repository.database
    for job in import_jobs.stale(database, context.settings.bulk_job_lease_seconds * 1000):
        owner = new_id()
        if not import_jobs.take_over(database, job, owner):
            continue  # another process took it
        checkpoint = Summary.from_json(job.summary)
        try:
            results = _results_again(context, job)
        except (OSError, UnreadableSource) as error:
            log.warning("import job %s cannot be resumed: %s", job.id, error)
            import_jobs.record(database, job.id, summary=checkpoint.as_json(), state="failed", owner=owner,
                               message=f"The server stopped during the import and its source cannot be read again: "
                                       f"{error}")
            continue
        log.info("resuming import job %s after %d source records", job.id, checkpoint.mapped + checkpoint.rejected)
        _launch(context, job.id, results, owner, dry_run=job.options.get("dry_run", False),
                outcomes="inputs" in job.options, checkpoint=checkpoint)


def _results_again(context: Context, job):
    """The job's source records from the first, opened again as the job was started."""
    source_folder = folder(context, job.id) / "source"
    if "inputs" in job.options:
        return _input_results(source_folder, job.options["inputs"], context.settings.import_url_prefixes.split())
    if not source_folder.is_dir():
        raise FileNotFoundError(f"`{source_folder}` is gone")
    options = Options(spec=job.options.get("spec"), samples=job.options.get("samples"), build=job.options.get("build"),
                      source_system=job.options.get("source_system"))
    located = _locate(job.format, source_folder, options)
    return open_source(job.format, located, context, located_options(options, source_folder)).results


def _launch(context: Context, id_: str, results, owner: str, *, dry_run: bool = False, outcomes: bool = False,
            checkpoint: Summary | None = None) -> None:
    # Without the kick-off request's audit trail, which was written when that request ended: the job's writes
    # would only pile their events up in it.
    context = context.acting_for(context.access)
    threading.Thread(target=_run, args=(context, id_, results, owner, dry_run, outcomes, checkpoint),
                     name=f"import-{id_}", daemon=True).start()


def _input_results(downloads: Path, inputs: list[dict], allowed: list[str]):
    """Each input's records in turn; a URL is downloaded first (inside the job, so a failure ends the job),
    following redirects only to URLs that are allowed too."""
    opener = build_opener(_AllowedRedirects(allowed))
    for number, input_ in enumerate(inputs, 1):
        url = input_["url"]
        if url.startswith("file:"):
            path = Path(url2pathname(urlparse(url).path))
        else:
            downloads.mkdir(parents=True, exist_ok=True)
            path = downloads / f"input-{number}.ndjson"
            with opener.open(url, timeout=60) as response, path.open("wb") as target:
                shutil.copyfileobj(response, target, 1 << 20)
        yield from ndjson.read(path, url, input_.get("type"))


def cancel(context: Context, id_: str) -> bool:
    """Delete the job and its files; a running job stops after its current batch. False if there was none."""
    removed = import_jobs.remove(context.repository.database, id_)
    shutil.rmtree(folder(context, id_), ignore_errors=True)
    return removed


class _Cancelled(Exception):
    """The job's row was deleted while it ran."""


class _AllowedRedirects(HTTPRedirectHandler):
    """An allowed server must not be able to send the download to a URL the server may not reach."""

    def __init__(self, allowed: list[str]):
        self.allowed = allowed

    def redirect_request(self, request, fp, code, message, headers, new_url):
        if not any(new_url.startswith(prefix) for prefix in self.allowed):
            raise HTTPError(new_url, code, f"redirected to `{new_url}`, which FHIR_SERVER_IMPORT_URL_PREFIXES does "
                                           "not allow", headers, fp)
        return super().redirect_request(request, fp, code, message, headers, new_url)


def outcomes_path(context: Context, id_: str) -> Path:
    return folder(context, id_) / "errors.ndjson"


def _run(context: Context, id_: str, results, owner: str, dry_run: bool, outcomes: bool,
         checkpoint: Summary | None) -> None:
    """Import ``results`` (from ``checkpoint`` on, when resuming); with ``outcomes``, also write the rejects as
    OperationOutcomes, as bulk data's error files are."""
    database = context.repository.database
    if checkpoint is not None:
        _keep_rejects(rejects_path(context, id_), checkpoint.rejected)
        results = itertools.islice(results, checkpoint.mapped + checkpoint.rejected, None)
    heartbeat = _Heartbeat(database, id_, owner, context.settings.bulk_job_lease_seconds / 3)
    with rejects_path(context, id_).open("a" if checkpoint else "w", encoding="utf-8") as rejects, heartbeat:
        importer = Importer(context, rejects=rejects, dry_run=dry_run, base_url=context.settings.base_url,
                            summary=checkpoint)

        def progress(summary) -> None:
            rejects.flush()
            if heartbeat.lost or not import_jobs.record(database, id_, summary=summary.as_json(), owner=owner):
                raise _Cancelled()

        try:
            summary = importer.run(results, progress)
        except _Cancelled:
            if import_jobs.get(database, id_) is None:  # cancelled; else taken over, and its files are in use
                shutil.rmtree(folder(context, id_), ignore_errors=True)
            return
        except Exception as error:  # the job must end in a state a person can read, whatever happened
            log.exception("import job %s failed", id_)
            import_jobs.record(database, id_, summary=importer.summary.as_json(), state="failed", owner=owner,
                               message=f"{type(error).__name__}: {error}")
            shutil.rmtree(folder(context, id_) / "source", ignore_errors=True)
            return
    shutil.rmtree(folder(context, id_) / "source", ignore_errors=True)
    if outcomes and rejects_path(context, id_).exists():  # (not if the job was cancelled as it finished)
        _write_outcomes(rejects_path(context, id_), outcomes_path(context, id_))
    import_jobs.record(database, id_, summary=summary.as_json(), state="completed", owner=owner)


class _Heartbeat:
    """Keeps the job's row fresh between checkpoints, which may be further apart than the lease (starting the
    validation pool, a large batch), so that no other process takes a live worker for dead; and notices when
    the job was cancelled or taken over, so the worker stops at its next checkpoint."""

    def __init__(self, database, id_: str, owner: str, interval: float):
        self.lost = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, args=(database, id_, owner, max(interval, 0.1)),
                                        name=f"import-{id_}-heartbeat", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._stop.set()
        self._thread.join()

    def _beat(self, database, id_: str, owner: str, interval: float) -> None:
        while not self._stop.wait(interval):
            try:
                if not import_jobs.touch(database, id_, owner):
                    self.lost = True
                    return
            except Exception:  # a busy database: the next beat tries again, well within the lease
                log.warning("import job %s: heartbeat failed", id_, exc_info=True)


def _keep_rejects(path: Path, count: int) -> None:
    """Cut the rejects file back to the checkpoint's first ``count`` rejects: the rest are found again."""
    if not path.exists():
        return
    kept = 0
    with path.open("rb") as lines:
        for _ in range(count):
            line = lines.readline()
            if not line:
                break
            kept += len(line)
    with path.open("rb+") as file:
        file.truncate(kept)


def _write_outcomes(rejects: Path, target: Path) -> None:
    with rejects.open("rb") as lines, target.open("wb") as outcomes:
        for line in lines:
            rejected = json.loads(line)
            where = rejected["source"]
            diagnostics = f"{where['file']} line {where.get('line')}: {rejected['reason']}"
            issue = {"severity": "error", "code": "invalid", "diagnostics": diagnostics}
            if rejected.get("field"):
                issue["expression"] = [rejected["field"]]
            outcomes.write(json_codec.dump({"resourceType": "OperationOutcome", "issue": [issue]}) + b"\n")
