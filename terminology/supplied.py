"""Files a deployer supplies (KCD, the rare-disease copayment list, newer Orphadata releases, and ICD-O-3,
SNOMED CT and LOINC, which cannot be shipped), converted
once into compact tables in a terminology folder that every server process reads at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from terminology import tables
from terminology.systems import copayment, icdo3, kcd, loinc, orphanet, snomed

if TYPE_CHECKING:
    from terminology.registry import Terminology

ORPHADATA = "orphadata"
# Loaders of systems whose licences forbid shipping them: each writes one code system table.
LICENSED = {"icd-o-3": lambda paths: icdo3.parse([row for path in paths for row in tables.read_supplied(path)]),
            "snomed-ct": lambda paths: (snomed.load(paths), []),
            "loinc": lambda paths: (loinc.load(paths), [])}
KINDS = ("kcd", "orphadata", "copayment-rare", *LICENSED)


def store(folder: Path, kind: str, paths: list[Path], base_icd10, *, edition: str = "8") -> list[str]:
    """Convert supplied files of ``kind`` into ``folder``; returns the rejected rows (line and why)."""
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "kcd":
        rows = [row for path in paths for row in tables.read_supplied(path)]
        system, rejected = kcd.parse(rows, base_icd10, edition)
        own = [concept for code, concept in system.concepts.items() if concept is not base_icd10.concepts.get(code)]
        tables.write(folder / "kcd.tsv", [(edition, concept.code, dict(concept.designations).get("ko", ""),
                                     dict(concept.designations).get("en", "")) for concept in own])
        return rejected
    if kind == "copayment-rare":
        rows = [row for path in paths for row in tables.read_supplied(path)]
        rare, names, rejected = copayment.parse_rare_list(rows)
        tables.write(folder / "copayment-rare.tsv", [(v_code, code, names.get(v_code, ""))
                                               for code, v_codes in sorted(rare.items()) for v_code in sorted(v_codes)])
        return rejected
    if kind in LICENSED:
        system, rejected = LICENSED[kind](paths)
        tables.write_code_system(folder / f"{kind}.tsv", system)
        return rejected
    if kind == "orphadata":
        files = [file for path in paths for file in (sorted(path.iterdir()) if path.is_dir() else [path])]
        classifications = [file for file in files if file.name.startswith("en_product3_")]
        alignment_files = [file for file in files if file.name.startswith("en_product1") or ".sssom" in file.name]
        if not classifications or not alignment_files:
            raise ValueError("Orphadata needs the classification files (en_product3_*.xml) and an alignments file "
                             "(en_product1.xml or an ORDO SSSOM .tsv)")
        streams = [file.open("rb") for file in classifications]
        try:
            data = orphanet.parse_classifications(streams)
        finally:
            for stream in streams:
                stream.close()
        source = alignment_files[0]
        if source.name.startswith("en_product1"):
            with source.open("rb") as stream:
                alignments, labels = orphanet.parse_product1(stream)
        else:
            with source.open(encoding="utf-8") as stream:
                alignments, labels = orphanet.parse_sssom(stream)
        orphanet.write_tables(folder / ORPHADATA, data, alignments, labels)
        return []
    raise ValueError(f"Unknown terminology kind `{kind}`; expected one of {', '.join(KINDS)}")


def apply(folder: Path, terminology: "Terminology") -> None:
    """Add what ``folder`` holds to ``terminology`` (Orphadata is read by the registry itself)."""
    if (folder / "kcd.tsv").exists():
        rows = tables.read(folder / "kcd.tsv")
        edition = rows[0][0] if rows else "8"
        system, _ = kcd.parse([["code", "korean", "english"], *([code, ko, en] for _, code, ko, en in rows)],
                              terminology.icd10, edition)
        terminology.kcd = system
    for kind in LICENSED:
        if (folder / f"{kind}.tsv").exists():
            system = tables.read_code_system(folder / f"{kind}.tsv")
            terminology.licensed[system.url] = system
    if (folder / "copayment-rare.tsv").exists():
        for v_code, code, name in tables.read(folder / "copayment-rare.tsv"):
            terminology.copayment.rare.setdefault(code, set()).add(v_code)
            if name:
                terminology.copayment.names.setdefault(v_code, name)
