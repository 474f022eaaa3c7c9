"""SNOMED CT from a deployer's RF2 release (International Edition, optionally with the Korean extension).

Not shipped: SNOMED CT needs an affiliate licence. Korea is a SNOMED International member; hospitals get
the International Edition and the Korean extension through the national release centre (HIRA,
https://www.hira.or.kr) or MLDS (https://mlds.ihtsdotools.org). Point the loader at the unpacked
release folders; it reads the Snapshot files:

- ``sct2_Concept_Snapshot_*.txt``: every concept, active or not;
- ``sct2_Description_Snapshot*.txt``: terms by language (``en``, ``ko``); the fully specified name is
  the display unless a language reference set marks a preferred synonym;
- ``der2_cRefset_Language*Snapshot*.txt``: preferred (900000000000548007) synonyms per language;
- ``sct2_Relationship_Snapshot_*.txt``: active is-a (116680003) relationships, the hierarchy.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from terminology.codesystem import CodeSystem, Concept

URL = "http://snomed.info/sct"
IS_A = "116680003"
FULLY_SPECIFIED_NAME = "900000000000003001"
PREFERRED = "900000000000548007"
_RELEASE_DATE = re.compile(r"_(\d{8})\.txt$")


def _rows(path: Path):
    with path.open(encoding="utf-8", newline="") as stream:
        reader = csv.reader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        if header is None:
            return
        for row in reader:
            yield dict(zip(header, row))


def _files(paths: list[Path], prefix: str) -> list[Path]:
    found = []
    for path in paths:
        candidates = path.rglob("*.txt") if path.is_dir() else [path]
        found += [file for file in candidates if file.name.startswith(prefix) and "Snapshot" in file.name]
    return sorted(found)


def load(paths: list[Path]) -> CodeSystem:
    concept_files = _files(paths, "sct2_Concept_")
    if not concept_files:
        raise ValueError("no SNOMED CT RF2 Snapshot concept file (sct2_Concept_Snapshot_*.txt) found")
    active: dict[str, bool] = {}
    for file in concept_files:
        for row in _rows(file):
            active[row["id"]] = row["active"] == "1"
    preferred: set[str] = set()
    for file in _files(paths, "der2_cRefset_Language"):
        preferred.update(row["referencedComponentId"] for row in _rows(file)
                         if row["active"] == "1" and row["acceptabilityId"] == PREFERRED)
    names: dict[str, str] = {}
    terms: dict[str, dict[str, str]] = {}  # concept -> language -> preferred term
    for file in _files(paths, "sct2_Description_"):
        for row in _rows(file):
            if row["active"] != "1" or row["conceptId"] not in active:
                continue
            if row["typeId"] == FULLY_SPECIFIED_NAME and row["languageCode"] == "en":
                names[row["conceptId"]] = row["term"]
            elif row["id"] in preferred:
                terms.setdefault(row["conceptId"], {})[row["languageCode"]] = row["term"]
    parents: dict[str, list[str]] = {}
    for file in _files(paths, "sct2_Relationship_"):
        for row in _rows(file):
            if row["active"] == "1" and row["typeId"] == IS_A and row["sourceId"] in active:
                parents.setdefault(row["sourceId"], []).append(row["destinationId"])
    concepts = {}
    for code, is_active in active.items():
        preferred_terms = terms.get(code, {})
        display = preferred_terms.get("en") or names.get(code) or code
        concepts[code] = Concept(code, display, None, tuple(sorted(preferred_terms.items())), is_active)
    dates = [match.group(1) for file in concept_files if (match := _RELEASE_DATE.search(file.name))]
    return CodeSystem(URL, max(dates) if dates else "unknown", "SNOMEDCT", "SNOMED CT", concepts,
                      {code: tuple(sorted(set(found))) for code, found in parents.items()},
                      publisher="SNOMED International",
                      copyright="SNOMED CT, used under the deployer's SNOMED International affiliate licence.")
