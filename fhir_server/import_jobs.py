"""Imports run by the server, in a background thread whose progress is kept in the import_jobs table, so any
server process can report it: an upload (a zip archive of an export) is unpacked into the imports folder and
its source opened and checked at once (an unusable one is refused before a job exists); a bulk `$import`
reads NDJSON files from the server's disk or downloads them.
"""

from __future__ import annotations

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
from fhir_server.importing import Importer
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
    import_jobs.create(context.repository.database, id_, format_, {k: v for k, v in recorded.items() if v})
    threading.Thread(target=_run, args=(context, id_, source.results, dry_run), name=f"import-{id_}",
                     daemon=True).start()
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
    id_ = new_id()
    folder(context, id_).mkdir(parents=True)
    import_jobs.create(context.repository.database, id_, "ndjson", {"inputs": inputs, "request": request_url,
                                                                    "requester": context.access.requester})
    results = _input_results(folder(context, id_) / "source", inputs, context.settings.import_url_prefixes.split())
    threading.Thread(target=_run, args=(context, id_, results, False, True), name=f"import-{id_}",
                     daemon=True).start()
    return id_


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


def _run(context: Context, id_: str, results, dry_run: bool, outcomes: bool = False) -> None:
    """Import ``results``; with ``outcomes``, also write the rejects as OperationOutcomes, as bulk data's
    error files are."""
    database = context.repository.database
    with rejects_path(context, id_).open("w", encoding="utf-8") as rejects:
        importer = Importer(context, rejects=rejects, dry_run=dry_run, base_url=context.settings.base_url)

        def progress(summary) -> None:
            rejects.flush()
            if not import_jobs.record(database, id_, summary=summary.as_json()):
                raise _Cancelled()

        try:
            summary = importer.run(results, progress)
        except _Cancelled:
            shutil.rmtree(folder(context, id_), ignore_errors=True)
            return
        except Exception as error:  # the job must end in a state a person can read, whatever happened
            log.exception("import job %s failed", id_)
            import_jobs.record(database, id_, summary=importer.summary.as_json(), state="failed",
                               message=f"{type(error).__name__}: {error}")
            return
        finally:
            shutil.rmtree(folder(context, id_) / "source", ignore_errors=True)
    if outcomes and rejects_path(context, id_).exists():  # (not if the job was cancelled as it finished)
        _write_outcomes(rejects_path(context, id_), outcomes_path(context, id_))
    import_jobs.record(database, id_, summary=summary.as_json(), state="completed")


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
