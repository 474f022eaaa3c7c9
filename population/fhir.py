"""The synthetic hospital as FHIR R4: its export mapped by the project's own mappers (the shipped
`korean-hospital` tabular spec, and the VCF mapper for the genome files), written as NDJSON (a file per type, as
bulk data is) or as transaction Bundles of PUTs at the mappers' deterministic ids.

The FHIR outputs therefore hold exactly what `fhir-server import` makes of the tabular output.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import IO, Iterator

import orjson

from mappers import ids
from mappers.base import Mapped, Rejected
from mappers.tabular import spec as tabular_spec
from mappers.tabular.mapper import TabularMapper
from mappers.vcf import reader, samples
from mappers.vcf.mapper import VcfMapper
from population.hospital import REGISTRATION_SYSTEM
from terminology.normalize import Normalizer

GENOMES_SOURCE = "urn:fhir-server:vcf"  # what `fhir-server import vcf` namespaces ids with by default


def resources(export: Path, normalizer: Normalizer, rejected: list[Rejected]) -> Iterator[dict]:
    """Every resource the export maps to, tables first, then each genome file; what the mappers reject (nothing,
    for an export this package wrote) is added to ``rejected``."""
    spec = tabular_spec.load(tabular_spec.builtin("korean-hospital"))
    for result in TabularMapper(spec, normalizer).map_folder(export):
        yield from _resources(result, rejected)
    genomes = export / "genomes"
    if not sorted(genomes.glob("*.vcf")):
        return  # nobody was sequenced
    patients = {written.split("|", 1)[1]: written for written in samples.read(genomes / "samples.csv").values()}
    for path in sorted(genomes.glob("*.vcf")):
        header, calls = reader.read(path, path.name)
        subjects = {sample: {"reference": "Patient/" + ids.resource_id(spec.source_system, "Patient",
                                                                        _registration(sample, patients))}
                    for sample in header.samples}
        mapper = VcfMapper(header, path.name, subjects, header.build or "GRCh38", GENOMES_SOURCE)
        for result in mapper.map_calls(calls):
            yield from _resources(result, rejected)


def _registration(sample: str, patients: dict[str, str]) -> str:
    registration = sample.removeprefix("S")
    if registration not in patients or not patients[registration].startswith(REGISTRATION_SYSTEM):
        raise ValueError(f"sample `{sample}` is not in samples.csv")
    return registration


def _resources(result: Mapped | Rejected, rejected: list[Rejected]) -> Iterator[dict]:
    if isinstance(result, Rejected):
        rejected.append(result)
        return
    yield from result.if_absent
    yield from result.resources


def write_ndjson(resources: Iterator[dict], out: Path) -> dict[str, int]:
    """``{Type}.ndjson`` per resource type; resources written per type."""
    out.mkdir(parents=True, exist_ok=True)
    handles: dict[str, IO[str]] = {}
    counts: dict[str, int] = {}
    try:
        for resource in resources:
            kind = resource["resourceType"]
            if kind not in handles:
                handles[kind] = (out / f"{kind}.ndjson").open("w", encoding="utf-8")
            handles[kind].write(_json(resource) + "\n")
            counts[kind] = counts.get(kind, 0) + 1
    finally:
        for handle in handles.values():
            handle.close()
    return counts


def write_bundles(resources: Iterator[dict], out: Path, per_bundle: int = 500) -> int:
    """``bundle-00000.json``, ...: transaction Bundles of ``per_bundle`` PUT entries; the resources written."""
    out.mkdir(parents=True, exist_ok=True)
    entries, files, total = [], 0, 0
    for resource in resources:
        url = f"{resource['resourceType']}/{resource['id']}"
        entries.append({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource,
                        "request": {"method": "PUT", "url": url}})
        if len(entries) == per_bundle:
            files, total = _write_bundle(out, files, entries), total + len(entries)
            entries = []
    if entries:
        files, total = _write_bundle(out, files, entries), total + len(entries)
    return total


def _write_bundle(out: Path, number: int, entries: list[dict]) -> int:
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": entries}
    (out / f"bundle-{number:05d}.json").write_text(_json(bundle), encoding="utf-8")
    return number + 1


def _json(value) -> str:
    """Compact JSON with each decimal digit for digit as the mapper read it (`6.50` stays `6.50`)."""
    return orjson.dumps(value, default=_decimal).decode()


def _decimal(value):
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
