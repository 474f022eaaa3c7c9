"""Orphanet ORPHAcodes, their classifications, and their alignments to ICD-10.

The shipped tables in ``terminology/data`` are derived (by ``tools/derive_orphanet.py``) from
Orphadata's classification files (product 3) and the SSSOM mappings of the Orphanet Rare Disease
Ontology, both CC BY 4.0: see ``terminology/data/PROVENANCE.md``. The same parsers read newer
releases that a deployer supplies. https://www.orphadata.com/
"""

from __future__ import annotations

import csv
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import IO, Iterable

from terminology import tables
from terminology.codesystem import CodeSystem, Concept

URL = "http://www.orpha.net"
RARE_NEOPLASMS = "202"  # the Orphanet classification of rare neoplastic diseases
RARE_NEOPLASM_ROOT = "250908"

# SSSOM predicates, read with the ORPHA concept as subject and the ICD-10 code as object, and the
# Orphanet relation names they stand for (E: exact; NTBT: the ORPHA concept is narrower; BTNT: broader).
_SSSOM_RELATIONS = {"skos:exactMatch": "E", "skos:broadMatch": "NTBT", "skos:narrowMatch": "BTNT"}


@dataclass(frozen=True, slots=True)
class Alignment:
    orphacode: str
    icd10: str
    relation: str  # E, NTBT or BTNT


@dataclass
class Orphadata:
    """What the classification files say: concepts, and (classification, parent, child) edges."""

    concepts: dict[str, Concept]
    edges: set[tuple[str, str, str]]
    classifications: dict[str, str]  # id -> name


def parse_classifications(streams: Iterable[IO[bytes]]) -> Orphadata:
    """Orphadata product 3 files (``en_product3_*.xml``), one classification each."""
    data = Orphadata({}, set(), {})
    for stream in streams:
        root = ElementTree.parse(stream).getroot()
        classification = root.find("ClassificationList/Classification")
        if classification is None:
            raise ValueError("not an Orphadata classification file (product 3): no <Classification>")
        number = classification.get("id")
        data.classifications[number] = (classification.findtext("Name") or "").strip()
        for node in classification.iter("ClassificationNode"):
            code = _disorder(node, data.concepts)
            for child in node.findall("ClassificationNodeChildList/ClassificationNode"):
                data.edges.add((number, code, _disorder(child, data.concepts)))
    return data


def _disorder(node, concepts: dict[str, Concept]) -> str:
    disorder = node.find("Disorder")
    code = disorder.findtext("OrphaCode").strip()
    if code not in concepts:
        concepts[code] = Concept(code, disorder.findtext("Name").strip(),
                                 (disorder.findtext("DisorderType/Name") or "").strip() or None)
    return code


def parse_sssom(stream: IO[str]) -> tuple[list[Alignment], dict[str, str]]:
    """ORPHA-to-ICD-10 rows of an SSSOM mapping file (as in mondo-ingest's ``ordo.sssom.tsv``), and the
    subject labels, which name ORPHAcodes that no classification file lists."""
    rows = csv.DictReader((line for line in stream if not line.startswith("#")), delimiter="\t")
    alignments, labels = [], {}
    for row in rows:
        subject, obj = row["subject_id"], row["object_id"]
        relation = _SSSOM_RELATIONS.get(row["predicate_id"])
        if relation and subject.startswith("Orphanet:") and obj.startswith("ICD10:"):
            orphacode = subject.split(":", 1)[1]
            alignments.append(Alignment(orphacode, obj.split(":", 1)[1], relation))
            labels[orphacode] = row.get("subject_label") or ""
    return alignments, labels


def parse_product1(stream: IO[bytes]) -> tuple[list[Alignment], dict[str, str]]:
    """Orphadata's own alignments file (product 1, ``en_product1.xml``): each Disorder's
    ExternalReference with Source ICD-10 and its DisorderMappingRelation, named like
    ``E (Exact mapping: the two concepts are equivalent)``."""
    alignments, labels = [], {}
    root = ElementTree.parse(stream).getroot()
    for disorder in root.iter("Disorder"):
        code = (disorder.findtext("OrphaCode") or "").strip()
        for reference in disorder.iter("ExternalReference"):
            if (reference.findtext("Source") or "").strip() != "ICD-10":
                continue
            relation = (reference.findtext("DisorderMappingRelation/Name") or "").strip().split(" ", 1)[0]
            if code and relation in ("E", "NTBT", "BTNT"):
                alignments.append(Alignment(code, reference.findtext("Reference").strip(), relation))
                labels[code] = (disorder.findtext("Name") or "").strip()
    if not labels and root.find(".//Disorder") is None:
        raise ValueError("not an Orphadata alignments file (product 1): no <Disorder>")
    return alignments, labels


# --- the compact tables: concepts.tsv (code, name, type), hierarchy.tsv (classification, parent, child),
# --- icd10.tsv (orphacode, icd10, relation), classifications.tsv (id, name)

def write_tables(folder: Path, data: Orphadata, alignments: list[Alignment], labels: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    concepts = dict(data.concepts)
    for code, label in labels.items():
        concepts.setdefault(code, Concept(code, label, None))
    tables.write(folder / "orphanet-concepts.tsv", [(c.code, c.display, c.kind or "") for c in
                                              sorted(concepts.values(), key=lambda c: int(c.code))])
    tables.write(folder / "orphanet-classifications.tsv", sorted(data.classifications.items(), key=lambda c: int(c[0])))
    tables.write(folder / "orphanet-hierarchy.tsv", sorted(data.edges, key=lambda e: (int(e[0]), int(e[1]), int(e[2]))))
    tables.write(folder / "orphanet-icd10.tsv", sorted({(a.orphacode, a.icd10, a.relation) for a in alignments},
                                                 key=lambda a: (int(a[0]), a[1])))


@dataclass
class Orphanet:
    code_system: CodeSystem
    edges: list[tuple[str, str, str]]
    alignments: list[Alignment]
    classifications: dict[str, str]

    def classification_descendants(self, classification: str, root: str) -> set[str]:
        """``root`` and everything under it in one classification (the union DAG may add more)."""
        children: dict[str, list[str]] = {}
        for number, parent, child in self.edges:
            if number == classification:
                children.setdefault(parent, []).append(child)
        found, stack = {root}, [root]
        while stack:
            for child in children.get(stack.pop(), ()):
                if child not in found:
                    found.add(child)
                    stack.append(child)
        return found


def load(folder: Path | None = None) -> Orphanet:
    """The shipped tables, or those in ``folder`` (written by ``write_tables`` from a newer release)."""
    source = folder if folder is not None else resources.files("terminology") / "data"
    concepts = {code: Concept(code, name, kind or None)
                for code, name, kind in tables.read(source / "orphanet-concepts.tsv")}
    edges = [tuple(row) for row in tables.read(source / "orphanet-hierarchy.tsv")]
    parents: dict[str, set[str]] = {}
    for _, parent, child in edges:
        parents.setdefault(child, set()).add(parent)
    code_system = CodeSystem(URL, "2025-07", "ORPHAcode", "Orphanet nomenclature of rare diseases (ORPHAcodes)",
                             concepts, {child: tuple(sorted(found)) for child, found in parents.items()},
                             publisher="Orphanet / INSERM",
                             copyright="Orphanet, Orphadata (CC BY 4.0): https://www.orphadata.com")
    alignments = [Alignment(*row) for row in tables.read(source / "orphanet-icd10.tsv")]
    classifications = dict(tuple(row) for row in tables.read(source / "orphanet-classifications.tsv"))
    return Orphanet(code_system, edges, alignments, classifications)
