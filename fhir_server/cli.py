"""The `fhir-server` command: serve, init-db, load, import, export, mllp, reindex, reconcile, token, cohort, federate,
deidentify, settings."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from fhir_server import search_engine_commands
from fhir_server.cohorts import commands as cohort_commands
from fhir_server.settings import Settings, describe
from terminology import supplied

# Commands that do not open this server's database (federate asks the peers). Every other one checks the database's
# schema first, but for a dry-run import, which stores nothing.
WITHOUT_DATABASE = {"init-db", "token", "settings", "federate"}
# A bulk load's validation workers import this module again, as the main module of the process that started them
# (multiprocessing does so): what the commands need is imported when they run, not here.
IMPORT_FORMATS = ("tabular", "omop", "hl7v2", "vcf", "ndjson")  # fhir_server.import_sources.FORMATS, without importing the server here


def main(argv: list[str] | None = None) -> int:
    from fhir_server.security.access import ROLES

    parser = argparse.ArgumentParser(prog="fhir-server", description="FHIR R4 clinical data server")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the FHIR API with a production WSGI server (granian)")
    serve.add_argument("--host", help="address to listen on (FHIR_SERVER_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (FHIR_SERVER_PORT)")
    serve.add_argument("--workers", type=int, help="worker processes (FHIR_SERVER_WORKERS)")

    commands.add_parser("init-db", help="create or upgrade the database schema (Alembic migrations) and publish the "
                                        "terminology (code system hierarchies, cohort value sets, concept maps)")

    load_terminology = commands.add_parser(
        "load-terminology", help="convert supplied code system files into the terminology folder "
                                 "(FHIR_SERVER_TERMINOLOGY_FOLDER) and publish them")
    load_terminology.add_argument("kind", choices=supplied.KINDS, help="what the files hold")
    load_terminology.add_argument("files", nargs="+", type=Path, help="the files (or folders) as published")
    load_terminology.add_argument("--edition", default="8", choices=("7", "8", "9"), help="KCD edition (kcd only)")

    load = commands.add_parser("load", help="load batch or transaction Bundle JSON files, or single resources")
    load.add_argument("paths", nargs="+", type=Path, help="JSON files or folders of them")

    import_ = commands.add_parser(
        "import", help="map a hospital export to FHIR and load it: exit 0 if every record loaded, 1 if some were "
                       "rejected (the others loaded), 2 for a usage error or an unreadable source")
    import_.add_argument("format", choices=IMPORT_FORMATS, help="what the source is")
    import_.add_argument("path", help="the source: a folder of tables (tabular), a folder of CDM CSV files or a "
                                      "database URL (omop), a file or folder of messages (hl7v2), a .vcf or .vcf.gz "
                                      "file (vcf), an .ndjson file or a folder of them (ndjson)")
    import_.add_argument("--spec", help="tabular: a mapping spec file (YAML or JSON) or a shipped one: "
                                        "synthea-csv, korean-hospital")
    import_.add_argument("--samples", help="vcf: CSV with the columns sample and patient (Patient/id, or an "
                                           "identifier system|value of an imported patient)")
    import_.add_argument("--build", choices=("GRCh37", "GRCh38"), help="vcf: the genome build, if the header "
                                                                         "does not name it")
    import_.add_argument("--encoding", default="utf-8", help="hl7v2: the files' encoding (euc-kr, cp949, ...)")
    import_.add_argument("--source-system", help="omop, hl7v2, vcf: a URL naming the source (default urn:fhir-server:omop "
                                                 "or urn:fhir-server:vcf); it namespaces the resource ids")
    import_.add_argument("--dry-run", action="store_true", help="map and validate, store nothing")
    import_.add_argument("--rejects", type=Path, help="write each rejected record (NDJSON: source, field, reason) here")

    export = commands.add_parser("export", help="write resources as FHIR NDJSON files, one or more per type, as the "
                                                 "bulk $export does")
    export.add_argument("out", type=Path, help="the folder to write the files into")
    export.add_argument("--type", action="append", default=[], help="only these types (comma-separated; repeatable)")
    export.add_argument("--since", help="only resources changed at or after this FHIR instant")
    export.add_argument("--type-filter", action="append", default=[],
                        help="a search that the resources of its type must match, e.g. 'Observation?code=4548-4'; "
                             "several for one type are OR'd")
    level = export.add_mutually_exclusive_group()
    level.add_argument("--patients", action="store_true", help="only what is in some patient's compartment")
    level.add_argument("--group", help="only what is in the compartments of this Group's member patients")

    mllp = commands.add_parser("mllp", help="receive HL7 v2 messages over MLLP: each is stored, then acknowledged "
                                            "(AA), or answered AE with the reason it was rejected")
    # Its own destinations: --host and --port here are not the HTTP server's settings.
    mllp.add_argument("--host", dest="mllp_host", default="127.0.0.1", help="address to listen on")
    mllp.add_argument("--port", dest="mllp_port", type=int, default=2575,
                      help="port to listen on (2575 is MLLP's registered port)")
    mllp.add_argument("--source-system", default="urn:fhir-server:hl7v2",
                      help="a URL naming the sending system; it namespaces the resource ids")
    mllp.add_argument("--encoding", default="utf-8", help="the messages' encoding (euc-kr, cp949, ...)")

    reindex = commands.add_parser("reindex", help="rebuild the search index of stored resources, e.g. after "
                                                  "storing SearchParameters")
    reindex.add_argument("--type", dest="resource_type", help="only resources of this type")
    reindex.add_argument("--search-engine", action="store_true",
                         help="rebuild the Elasticsearch indexes from the database with _bulk instead")
    search_engine_commands.add_parsers(commands)

    token = commands.add_parser("token", help="print a bearer token signed by the local development key "
                                              "(FHIR_SERVER_AUTH_DEV_KEY, created if missing), to try the server "
                                              "with authentication on")
    token.add_argument("--scope", required=True, help='SMART scopes, e.g. "patient/*.rs" or "user/*.cruds"')
    token.add_argument("--patient", help="the patient id that patient/ scopes are confined to")
    token.add_argument("--role", action="append", default=[], choices=sorted(ROLES),
                       help="a role (repeatable); none means user")
    token.add_argument("--subject", default="developer", help="the token's subject (sub)")
    token.add_argument("--audience", help="default: FHIR_SERVER_AUTH_AUDIENCE, else http://HOST:PORT/fhir")
    token.add_argument("--lifetime", type=int, default=3600, help="seconds until it expires")

    cohort_commands.add_parsers(commands)

    commands.add_parser("settings", help="list every setting with its environment variable and help")

    args = parser.parse_args(argv)
    overrides = {key: getattr(args, key, None) for key in ("host", "port", "workers")}
    try:
        settings = Settings.from_env(**overrides)
    except ValueError as error:
        parser.error(str(error))
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # one line per plugin otherwise
    if args.command != "init-db":  # the schema check below would log Alembic's two lines of set-up every time
        logging.getLogger("alembic.runtime.migration").setLevel(logging.WARNING)
    if args.command not in WITHOUT_DATABASE and not getattr(args, "dry_run", False):
        problem = _schema_problem(settings.database_url)
        if problem:
            print(f"fhir-server {args.command}: {problem}", file=sys.stderr)
            return 2
    if args.command == "serve":
        from fhir_server.serve import serve as run_server

        run_server(settings)
    elif args.command == "init-db":
        from fhir_server.storage.database import connection_problem, migrate

        problem = connection_problem(settings.database_url)
        if problem:
            print(f"fhir-server init-db: {problem}", file=sys.stderr)
            return 2
        migrate(settings.database_url)
        print(f"database schema is up to date at {_display_url(settings.database_url)}")
        return _publish(settings)
    elif args.command == "load-terminology":
        return _load_terminology(settings, args.kind, args.files, args.edition)
    elif args.command == "load":
        from fhir_server.loading import load_bundles

        return 0 if load_bundles(settings, args.paths) else 1
    elif args.command == "import":
        return _import(settings, args)
    elif args.command == "export":
        return _export(settings, args)
    elif args.command == "mllp":
        return _mllp(settings, args)
    elif args.command == "reindex" and args.search_engine:
        return search_engine_commands.run_reindex(settings, args.resource_type)
    elif args.command == "reindex":
        return _reindex(settings, args.resource_type)
    elif args.command == "reconcile":
        return search_engine_commands.run_reconcile(settings, args)
    elif args.command in ("cohort", "federate", "deidentify"):
        return cohort_commands.run(settings, args)
    elif args.command == "token":
        return _token(settings, args)
    elif args.command == "settings":
        for variable, default, help_text in describe():
            print(f"{variable} (default {default!r})\n    {help_text}")
    return 0


def _schema_problem(url: str) -> str | None:
    """storage.database.schema_problem, asked in a forked child: granian forks the server's workers from this
    process, and SQLAlchemy and Alembic imported here for the check added 44 MB to the three processes."""
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(1) as child:
        return child.apply(_ask_schema_problem, (url,))


def _ask_schema_problem(url: str) -> str | None:
    from fhir_server.storage.database import schema_problem

    return schema_problem(url)


def _token(settings: Settings, args) -> int:
    from fhir_server.security import dev_key
    from fhir_server.security.tokens import audience

    if not settings.auth_dev_key:
        print("set FHIR_SERVER_AUTH_DEV_KEY to the key file's path (e.g. data/dev-signing-key.pem), for this command "
              "and for the server", file=sys.stderr)
        return 2
    print(dev_key.mint(Path(settings.auth_dev_key), audience=args.audience or audience(settings), scopes=args.scope,
                       subject=args.subject, patient=args.patient, roles=tuple(args.role),
                       lifetime_seconds=args.lifetime))
    return 0


def _import(settings: Settings, args) -> int:
    from tqdm import tqdm

    from fhir_server.app import build_context
    from fhir_server.import_sources import Options, UnreadableSource, open_source
    from fhir_server.importing import Importer

    context = build_context(settings)
    options = Options(spec=args.spec, samples=args.samples, build=args.build, source_system=args.source_system,
                      encoding=args.encoding)
    try:
        source = open_source(args.format, args.path, context, options)
    except UnreadableSource as error:
        print(f"cannot import: {error}", file=sys.stderr)
        context.repository.database.dispose()
        return 2
    rejects = args.rejects.open("w", encoding="utf-8") if args.rejects else None
    bar = tqdm(total=source.expected, unit=" records", file=sys.stderr, disable=None, dynamic_ncols=True)
    importer = Importer(context, rejects=rejects, dry_run=args.dry_run, base_url=settings.base_url)

    def progress(summary) -> None:
        bar.update(summary.read - bar.n)
        bar.set_postfix(rejected=summary.rejected, refresh=False)

    try:
        summary = importer.run(source.results, progress)
    finally:
        bar.close()
        if rejects:
            rejects.close()
        context.repository.database.dispose()
    print(("dry run: " if args.dry_run else "") + summary.line())
    if summary.rejected:
        print(f"{summary.rejected} records rejected" + (f"; see {args.rejects}" if args.rejects else
                                                        "; name a --rejects file to see why"), file=sys.stderr)
    return 1 if summary.rejected else 0


def _export(settings: Settings, args) -> int:
    from tqdm import tqdm

    from fhir_server.app import build_context
    from fhir_server.bulk import export_request
    from fhir_server.bulk.export import Exporter, Progress
    from fhir_server.errors import FhirError
    from fhir_server.storage.export_jobs import now_ms
    from fhir_server.storage.instants import format_instant

    context = build_context(settings)
    level = export_request.GROUP if args.group else export_request.PATIENT if args.patients else export_request.SYSTEM
    try:
        if args.group:
            context.repository.read("Group", args.group)
        export = export_request.from_values(context, level, {
            "_type": args.type, "_since": [args.since] if args.since else [], "_typeFilter": args.type_filter},
            group=args.group)
    except FhirError as error:
        print(f"cannot export: {error.message}", file=sys.stderr)
        context.repository.database.dispose()
        return 2
    bar = tqdm(unit=" resources", file=sys.stderr, disable=None, dynamic_ncols=True)

    def checkpoint(progress: Progress) -> bool:
        bar.update(progress.exported - bar.n)
        return True

    progress, as_of = Progress(), now_ms()
    try:
        Exporter(context, export, args.out, settings.export_file_resources, as_of).run(progress, checkpoint)
    finally:
        bar.close()
        context.repository.database.dispose()
    for file in progress.files:
        print(f"{args.out / file['name']}: {file['count']} {file['type']}")
    print(f"{progress.exported} resources exported to {args.out}, as they were at {format_instant(as_of)}")
    return 0


def _mllp(settings: Settings, args) -> int:
    from fhir_server.app import build_context
    from fhir_server.mllp import MllpServer

    context = build_context(settings)
    with MllpServer((args.mllp_host, args.mllp_port), context, args.source_system, args.encoding) as server:
        print(f"MLLP listening on {args.mllp_host}:{server.server_address[1]}; Ctrl-C stops", file=sys.stderr,
              flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
    context.repository.database.dispose()
    return 0


def _reindex(settings: Settings, resource_type: str | None) -> int:
    from fhir_server.app import build_context
    from fhir_server.storage.reindex import reindex

    context = build_context(settings)
    try:
        count = reindex(context.repository, resource_type,
                        progress=lambda done: print(f"\r{done} resources reindexed", end="", file=sys.stderr))
    finally:
        context.repository.database.dispose()
    print(f"\r{count} resources reindexed" + (f" of type {resource_type}" if resource_type else ""))
    return 0


def _publish(settings: Settings) -> int:
    from fhir_server.app import build_context
    from fhir_server.terminology_publish import publish

    context = build_context(settings)
    try:
        for line in publish(context):
            print(f"published {line}")
    finally:
        context.repository.database.dispose()
    print("terminology is published")
    return 0


def _load_terminology(settings: Settings, kind: str, files: list[Path], edition: str) -> int:
    from terminology.systems import icd10

    missing = [str(path) for path in files if not path.exists()]
    if missing:
        print(f"no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        rejected = supplied.store(Path(settings.terminology_folder), kind, files, icd10.load(), edition=edition)
    except ValueError as error:
        print(f"cannot load {kind}: {error}", file=sys.stderr)
        return 2
    for line in rejected:
        print(f"rejected {line}", file=sys.stderr)
    print(f"{kind} stored in {settings.terminology_folder}" + (f"; {len(rejected)} rows rejected" if rejected else ""))
    return _publish(settings)


def _display_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


if __name__ == "__main__":
    sys.exit(main())
