"""LOINC from the files a deployer downloads (free, with an account, from https://loinc.org/downloads;
the licence asks that the files are obtained from Regenstrief, so they are not shipped):

- ``LoincTable/Loinc.csv``: every LOINC term; the display is LONG_COMMON_NAME; DEPRECATED terms are inactive;
- optional ``AccessoryFiles/ComponentHierarchyBySystem/ComponentHierarchyBySystem.csv``: the multiaxial
  hierarchy (PATH_TO_ROOT, SEQUENCE, IMMEDIATE_PARENT, CODE, CODE_TEXT) whose LP part codes group the terms;
- optional ``AccessoryFiles/LinguisticVariants/koKR*LinguisticVariant.csv``: Korean names.
"""

from __future__ import annotations

import csv
from pathlib import Path

from terminology.codesystem import CodeSystem, Concept

URL = "http://loinc.org"


def _rows(path: Path):
    with path.open(encoding="utf-8-sig", newline="") as stream:
        yield from csv.DictReader(stream)


def _find(paths: list[Path], pattern: str) -> list[Path]:
    found = []
    for path in paths:
        found += sorted(path.rglob(pattern)) if path.is_dir() else [path] if path.match(pattern) else []
    return found


def load(paths: list[Path]) -> CodeSystem:
    tables = _find(paths, "Loinc.csv")
    if not tables:
        raise ValueError("no LOINC table (LoincTable/Loinc.csv) found")
    korean = {}
    for file in _find(paths, "koKR*LinguisticVariant*.csv"):
        for row in _rows(file):
            name = row.get("LinguisticVariantDisplayName") or row.get("LONG_COMMON_NAME") or row.get("COMPONENT")
            if name:
                korean[row["LOINC_NUM"]] = name
    concepts: dict[str, Concept] = {}
    versions = set()
    for row in _rows(tables[0]):
        code = row["LOINC_NUM"]
        display = row.get("LONG_COMMON_NAME") or row.get("SHORTNAME") or row.get("COMPONENT") or code
        designations = (("en", display),) + ((("ko", korean[code]),) if code in korean else ())
        concepts[code] = Concept(code, display, row.get("CLASS") or None, designations,
                                 row.get("STATUS", "ACTIVE") != "DEPRECATED")
        if row.get("VersionLastChanged"):
            versions.add(row["VersionLastChanged"])
    parents: dict[str, set[str]] = {}
    for file in _find(paths, "ComponentHierarchyBySystem.csv"):
        for row in _rows(file):
            code, parent = row["CODE"], row.get("IMMEDIATE_PARENT")
            if code not in concepts:
                concepts[code] = Concept(code, row.get("CODE_TEXT") or code, "part")
            if parent:
                parents.setdefault(code, set()).add(parent)
    for above in {parent for found in parents.values() for parent in found} - concepts.keys():
        concepts[above] = Concept(above, above, "part")
    version = max(versions, key=lambda text: tuple(int(part) for part in text.split(".") if part.isdigit())) \
        if versions else "unknown"
    return CodeSystem(URL, version, "LOINC", "LOINC", concepts,
                      {code: tuple(sorted(found)) for code, found in parents.items()},
                      publisher="Regenstrief Institute, Inc.",
                      copyright="LOINC is copyright Regenstrief Institute, Inc. and the LOINC Committee; "
                                "available at no cost under the licence at https://loinc.org/license/.")
