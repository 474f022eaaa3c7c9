"""`fhir-server cohort count|log` and `fhir-server federate`: the cohort operations from the command line,
under the same privacy policy as over HTTP (the steward's log is the exception: it is for the data steward,
who runs the server)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fhir_server.cohorts import BREAKDOWNS


def add_parsers(commands) -> None:
    cohort = commands.add_parser("cohort", help="count a cohort under the privacy policy, or read the data "
                                                "steward's log of cohort queries")
    actions = cohort.add_subparsers(dest="cohort_command", required=True)
    count = actions.add_parser("count", help="print the protected answer (JSON) to a cohort definition file")
    _question_arguments(count)
    count.add_argument("--requester", default="local", help="whose privacy budget and earlier cohorts count")
    log = actions.add_parser("log", help="print the newest cohort queries with their exact counts (NDJSON)")
    log.add_argument("--limit", type=int, default=100, help="how many")

    deidentify = commands.add_parser("deidentify", help="write an approved project's cohort, de-identified, as "
                                                        "NDJSON files (one per type); for the data steward")
    deidentify.add_argument("project", type=Path, help="the approved project file (JSON: cohort, types, pipeline)")
    deidentify.add_argument("out", type=Path, help="the folder to write the files into")

    federate = commands.add_parser("federate", help="ask the peers in FHIR_SERVER_FEDERATION_PEERS one cohort "
                                                    "question and print their combined, protected answer (JSON)")
    _question_arguments(federate)


def _question_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("definition", type=Path, help="a cohort definition (JSON file)")
    parser.add_argument("--breakdown", action="append", default=[], choices=BREAKDOWNS, help="repeatable")
    parser.add_argument("--age-at", help="the date age bands are computed at (default today)")


def run(settings, args) -> int:
    from fhir_server.app import build_context
    from fhir_server.errors import FhirError
    from fhir_server.storage import cohort_queries

    context = build_context(settings)
    try:
        if args.command == "cohort" and args.cohort_command == "log":
            with context.repository.database.read() as connection:
                for entry in cohort_queries.log(connection, args.limit):
                    print(json.dumps(entry, ensure_ascii=False))
            return 0
        if args.command == "deidentify":
            return _deidentify(context, args.project, args.out)
        source = _definition(args.definition)
        if source is None:
            return 2
        if args.command == "federate":
            from fhir_server.cohorts import federation

            print(json.dumps(federation.ask(settings, source, args.breakdown, args.age_at), ensure_ascii=False,
                             indent=2))
            return 0
        from fhir_server.cohorts import service

        answer = service.count(context, service.question(context, source, args.breakdown, args.age_at), args.requester)
        print(json.dumps({**answer.released(), "epsilon": answer.epsilon, "budgetRemaining": answer.budget_left},
                         ensure_ascii=False, indent=2))
        return 0
    except FhirError as error:
        print(f"not answered: {error.message}", file=sys.stderr)
        return 1
    finally:
        context.repository.database.dispose()


def _definition(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"cannot read the definition {path}: {error}", file=sys.stderr)
        return None


def _deidentify(context, project_file: Path, out: Path) -> int:
    from fhir_server.cohorts import deidentified_export, deidentify
    from fhir_server.cohorts.service import secret_key

    source = _definition(project_file)
    if source is None:
        return 2
    try:
        project = deidentify.project(source)
    except ValueError as error:
        print(f"cannot export: {error}", file=sys.stderr)
        return 2
    key_file = Path(project.key_file).resolve()
    if key_file.is_relative_to(out.resolve()):
        print("cannot export: the pseudonym key must be kept apart from the export", file=sys.stderr)
        return 2
    written = deidentified_export.export(context, project, secret_key(key_file), out)
    for kind, count in written.items():
        print(f"{out / (kind + '.ndjson')}: {count} resources")
    return 0
