"""Imports uploaded over HTTP: the upload (a zip archive of the export) is unpacked into the imports folder,
the source opened and checked at once (an unusable one is refused before a job exists), then imported in a
background thread whose progress is kept in the import_jobs table, so any server process can report it.
"""

from __future__ import annotations

import logging
import shutil
import threading
import zipfile
from pathlib import Path, PurePosixPath

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
    threading.Thread(target=_run, args=(context, id_, source, dry_run), name=f"import-{id_}", daemon=True).start()
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


def _run(context: Context, id_: str, source, dry_run: bool) -> None:
    database = context.repository.database
    with rejects_path(context, id_).open("w", encoding="utf-8") as rejects:
        importer = Importer(context, rejects=rejects, dry_run=dry_run, base_url=context.settings.base_url)

        def progress(summary) -> None:
            rejects.flush()
            import_jobs.record(database, id_, summary=summary.as_json())

        try:
            summary = importer.run(source.results, progress)
        except Exception as error:  # the job must end in a state a person can read, whatever happened
            log.exception("import job %s failed", id_)
            import_jobs.record(database, id_, summary=importer.summary.as_json(), state="failed",
                               message=f"{type(error).__name__}: {error}")
            return
        finally:
            shutil.rmtree(folder(context, id_) / "source", ignore_errors=True)
    import_jobs.record(database, id_, summary=summary.as_json(), state="completed")
