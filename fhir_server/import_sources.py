"""What `fhir-server import FORMAT PATH` reads: each format's source opened and checked, then mapped lazily.

A source that cannot be used at all (a missing file or spec, a spec with errors, a file that is not of its
format) raises UnreadableSource before anything is read, so the import refuses it whole (exit status 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from fhir_server.errors import FhirError
from fhir_server.pipeline import Context
from mappers.base import Result

FORMATS = ("tabular", "omop", "hl7v2", "vcf", "ndjson")
MESSAGE_FILES = (".hl7", ".er7", ".txt", ".msg", "")  # what a folder of HL7 v2 messages holds


class UnreadableSource(ValueError):
    """The source or its spec cannot be used at all (exit status 2): nothing is loaded."""


@dataclass
class Source:
    """A mapper's results over a source, and how many records it holds (for the progress bar), if known."""

    results: Iterable[Result]
    expected: int | None = None


@dataclass(frozen=True)
class Options:
    spec: str | None = None  # tabular: a spec file or a shipped spec's name
    samples: str | None = None  # vcf: the sample-to-patient table
    build: str | None = None  # vcf: GRCh37 or GRCh38 when the header does not say
    source_system: str | None = None  # omop, hl7v2, vcf: namespaces the ids of what the source makes
    encoding: str = "utf-8"  # hl7v2: the files' encoding (Korean systems may send euc-kr or cp949)


def open_source(format_: str, where, context: Context, options: Options = Options()) -> Source:
    """``where``: a folder or file, or for omop also a database URL."""
    if format_ == "omop":
        return _omop(str(where), context, options)
    path = Path(where)
    if format_ == "tabular":
        return _tabular(path, context, options)
    if format_ == "vcf":
        return _vcf(path, context, options)
    if format_ == "hl7v2":
        return _hl7v2(path, context, options)
    if format_ == "ndjson":
        return _ndjson(path)
    raise UnreadableSource(f"unknown format `{format_}`; the formats are {', '.join(FORMATS)}")


def _tabular(path: Path, context: Context, options: Options) -> Source:
    from mappers.tabular import spec as tabular_spec
    from mappers.tabular.mapper import TabularMapper
    from mappers.tabular.reader import SourceError

    if options.spec is None:
        raise UnreadableSource("`tabular` needs --spec: a spec file, or synthea-csv or korean-hospital")
    spec_path = Path(options.spec)
    if spec_path.suffix not in (".yaml", ".yml", ".json"):
        spec_path = tabular_spec.builtin(options.spec)
    if not spec_path.is_file():
        raise UnreadableSource(f"no spec file `{options.spec}`")
    try:
        mapper = TabularMapper(tabular_spec.load(spec_path), context.terminology.normalizer)
        expected = mapper.check_folder(path)
    except (tabular_spec.SpecError, SourceError) as error:
        raise UnreadableSource(str(error)) from None
    return Source(mapper.map_folder(path), expected)


def _vcf(path: Path, context: Context, options: Options) -> Source:
    from mappers.vcf import reader, samples
    from mappers.vcf.mapper import VcfMapper

    if not path.is_file():
        raise UnreadableSource(f"no VCF file `{path}`")
    if options.samples is None:
        raise UnreadableSource("`vcf` needs --samples: a CSV table with the columns sample and patient")
    try:
        table = samples.read(Path(options.samples))
        header, calls = reader.read(path, path.name)
    except (ValueError, OSError) as error:
        raise UnreadableSource(str(error)) from None
    build = options.build or header.build
    if build not in ("GRCh37", "GRCh38"):
        calls.close()
        raise UnreadableSource(f"{path.name}: the header does not name the genome build; give --build GRCh37 "
                               "or GRCh38")
    subjects = {sample: _patient(context, table[sample]) if sample in table else None for sample in header.samples}
    mapper = VcfMapper(header, path.name, subjects, build, options.source_system or "urn:fhir-server:vcf")
    return Source(mapper.map_calls(calls))


def _omop(where: str, context: Context, options: Options) -> Source:
    """A folder of CDM CSV files, or a database URL (postgresql+psycopg://..., sqlite:///...)."""
    from mappers.omop.mapper import OmopMapper
    from mappers.omop.source import CsvFolder, Database, OmopSourceError

    try:
        source = Database(where) if "://" in where else CsvFolder(Path(where))
        mapper = OmopMapper(source, context.terminology.normalizer, options.source_system or "urn:fhir-server:omop")
    except OmopSourceError as error:
        raise UnreadableSource(str(error)) from None
    return Source(mapper.map())


def _patient(context: Context, written: str) -> dict | str:
    """The reference of the Patient a sample belongs to, or why there is none."""
    if written.startswith("Patient/"):
        try:
            context.repository.read("Patient", written.removeprefix("Patient/"))
        except FhirError:
            return f"`{written}` does not exist on the server; import the patients first"
        return {"reference": written}
    if "|" not in written:
        return f"`{written}` is neither a reference (Patient/id) nor an identifier (system|value)"
    query = context.search.parse("Patient", [("identifier", written)], strict=True)
    with context.reading() as connection:
        found = context.search.find_ids(connection, query, 2)
    if len(found) != 1:
        return (f"{'no Patient has' if not found else 'several Patients have'} the identifier `{written}`"
                + ("; import the patients first" if not found else ""))
    return {"reference": f"Patient/{found[0]}"}


def _hl7v2(path: Path, context: Context, options: Options) -> Source:
    """A file of one or many messages, or a folder of such files (.hl7, .er7, .txt, .msg, or no suffix)."""
    import codecs

    from mappers.hl7v2.mapper import Hl7Mapper

    if not path.exists():
        raise UnreadableSource(f"no file or folder `{path}`")
    try:
        codecs.lookup(options.encoding)
    except LookupError:
        raise UnreadableSource(f"`{options.encoding}` is not an encoding Python knows") from None
    files = sorted(item for item in path.rglob("*") if item.is_file() and item.suffix.lower() in MESSAGE_FILES) \
        if path.is_dir() else [path]
    mapper = Hl7Mapper(context.terminology.normalizer, options.source_system or "urn:fhir-server:hl7v2")

    def results():
        for file in files:
            yield from mapper.map_bytes(file.read_bytes(), file.name, options.encoding)

    return Source(results())


def _ndjson(path: Path) -> Source:
    """A file of FHIR NDJSON, or a folder of .ndjson files: resources stored as they are (PUT at their id)."""
    from fhir_server.bulk import ndjson

    if not path.exists():
        raise UnreadableSource(f"no file or folder `{path}`")
    found = ndjson.files(path)
    if not found:
        raise UnreadableSource(f"`{path}` holds no .ndjson files")

    def results():
        for file in found:
            yield from ndjson.read(file, str(file.relative_to(path)) if path.is_dir() else file.name)

    return Source(results())
