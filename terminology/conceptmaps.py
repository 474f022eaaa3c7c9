"""The concept maps this server publishes and ``$translate`` answers from
(https://hl7.org/fhir/R4/conceptmap.html): KCD to ICD-10, ICD-10 to ORPHAcodes and back.

Equivalences are read from the source concept towards the target (R4 ConceptMapEquivalence): ``wider``
means the target means more than the source. A KCD code ICD-10 also has is ``equivalent``; a finer KCD
code maps to its nearest ICD-10 ancestor as ``wider``. Orphanet's alignment relations turn into
equivalences as E -> equivalent, NTBT (the ORPHA concept is narrower than the ICD-10 code) -> from
ICD-10 ``narrower``, from ORPHA ``wider``, and BTNT the other way round.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from terminology.errors import UnknownConceptMap
from terminology.systems import icd10, kcd, orphanet

BASE = "http://fhir-server.kr/ConceptMap/"
VERSION = "1.0.0"
_FROM_ICD10 = {"E": "equivalent", "NTBT": "narrower", "BTNT": "wider"}
_FROM_ORPHA = {"E": "equivalent", "NTBT": "wider", "BTNT": "narrower"}
_REVERSED = {"equivalent": "equivalent", "equal": "equal", "wider": "narrower", "narrower": "wider",
             "subsumes": "specializes", "specializes": "subsumes"}


@dataclass(frozen=True)
class Target:
    system: str
    code: str
    equivalence: str


@dataclass(frozen=True)
class ConceptMapDef:
    id: str
    title: str
    source: str  # system URL
    target: str
    elements: Callable  # (Terminology) -> dict[source code, list[Target]]
    available: Callable = lambda terminology: True

    @property
    def url(self) -> str:
        return BASE + self.id


def _kcd_to_icd10(terminology) -> dict[str, list[Target]]:
    found = {}
    for code, concept in terminology.kcd.concepts.items():
        if concept.kind in ("chapter", "block"):
            continue
        if code in terminology.icd10:
            found[code] = [Target(icd10.URL, code, "equivalent")]
            continue
        parent = next((above for above in _upwards(code) if above in terminology.icd10), None)
        if parent is not None:
            found[code] = [Target(icd10.URL, parent, "wider")]
    return found


def _alignments(terminology, from_icd10: bool) -> dict[str, list[Target]]:
    found: dict[str, list[Target]] = {}
    for alignment in terminology.orphanet.alignments:
        if alignment.icd10 not in terminology.icd10 or alignment.orphacode not in terminology.orphanet.code_system:
            continue
        if from_icd10:
            found.setdefault(alignment.icd10, []).append(
                Target(orphanet.URL, alignment.orphacode, _FROM_ICD10[alignment.relation]))
        else:
            found.setdefault(alignment.orphacode, []).append(
                Target(icd10.URL, alignment.icd10, _FROM_ORPHA[alignment.relation]))
    return found


def _upwards(code: str):
    compact = code.replace(".", "")
    for length in range(len(compact) - 1, 2, -1):
        yield f"{compact[:3]}.{compact[3:length]}"
    yield compact[:3]


CONCEPT_MAPS = (
    ConceptMapDef("kcd-to-icd-10", "KCD to ICD-10", kcd.URL, icd10.URL, _kcd_to_icd10,
                  available=lambda terminology: terminology.kcd is not None),
    ConceptMapDef("icd-10-to-orpha", "ICD-10 to ORPHAcodes (Orphanet alignments)", icd10.URL, orphanet.URL,
                  lambda terminology: _alignments(terminology, True)),
    ConceptMapDef("orpha-to-icd-10", "ORPHAcodes to ICD-10 (Orphanet alignments)", orphanet.URL, icd10.URL,
                  lambda terminology: _alignments(terminology, False)),
)


def available(terminology) -> list[ConceptMapDef]:
    return [definition for definition in CONCEPT_MAPS if definition.available(terminology)]


def by_url(terminology, url: str) -> ConceptMapDef:
    plain = url.split("|", 1)[0]
    for definition in available(terminology):
        if definition.url == plain:
            return definition
    known = ", ".join(f"`{definition.url}`" for definition in available(terminology))
    raise UnknownConceptMap(f"The concept map `{url}` is not known here; known: {known}.")


@dataclass(frozen=True)
class Match:
    target: Target
    source: str  # the ConceptMap's URL


class Translator:
    """``translate`` over the available maps; each map's elements are computed once."""

    def __init__(self, terminology):
        self.terminology = terminology
        self._elements: dict[str, dict[str, list[Target]]] = {}
        self._reversed: dict[str, dict[str, list[Target]]] = {}

    def elements(self, definition: ConceptMapDef) -> dict[str, list[Target]]:
        if definition.id not in self._elements:
            self._elements[definition.id] = definition.elements(self.terminology)
        return self._elements[definition.id]

    def _reverse(self, definition: ConceptMapDef) -> dict[str, list[Target]]:
        if definition.id not in self._reversed:
            found: dict[str, list[Target]] = {}
            for code, targets in self.elements(definition).items():
                for target in targets:
                    found.setdefault(target.code, []).append(
                        Target(definition.source, code, _REVERSED.get(target.equivalence, target.equivalence)))
            self._reversed[definition.id] = found
        return self._reversed[definition.id]

    def translate(self, system: str, code: str, *, url: str | None = None, target: str | None = None,
                  reverse: bool = False) -> list[Match]:
        """The targets of ``system|code`` in the named map, or in every map from ``system`` (to ``target``).

        With ``reverse``, the map is read from its target back to its source."""
        definitions = [by_url(self.terminology, url)] if url else available(self.terminology)
        found = []
        for definition in definitions:
            source, destination = (definition.target, definition.source) if reverse else \
                (definition.source, definition.target)
            if source != system or (target is not None and destination != target):
                continue
            elements = self._reverse(definition) if reverse else self.elements(definition)
            found += [Match(each, definition.url) for each in elements.get(code, ())]
        return found
