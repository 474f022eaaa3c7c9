"""The cohort value sets researchers start from: all cancers, in-situ neoplasms, rare diseases, rare cancers.

https://hl7.org/fhir/R4/valueset.html. Each is a rule over the loaded code systems; its expansion is the
set of (system, code) it contains, ICD-10 and KCD alike.

Which Orphanet alignments count: an exact alignment (E) always; an ICD-10 code broader than the rare
concept (NTBT, how Orphanet files a rare disease without its own ICD-10 code) outside the neoplasm chapter
only; the other way round (BTNT) never. ICD-10 codes neoplasms by site, so inside C00-D48 the broader
and narrower alignments attach common cancers to rare subtypes (C16.9 stomach, C34.9 lung), and BTNT
attaches C50.9 breast to the hereditary breast and ovarian cancer syndrome. Orphanet's own "NON RARE IN
EUROPE" concepts are not rare.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from terminology.systems import icd10, kcd, orphanet

BASE = "http://fhir-server.kr/ValueSet/"
VERSION = "1.0.0"


@dataclass(frozen=True)
class CohortValueSet:
    id: str
    title: str
    description: str
    members: Callable  # (Terminology) -> set[(system, code)]

    @property
    def url(self) -> str:
        return BASE + self.id

    @property
    def name(self) -> str:
        return "".join(part.capitalize() for part in self.id.split("-"))


def _codes_under(terminology, ranges: tuple[str, ...]) -> set[tuple[str, str]]:
    """ICD-10 (and KCD) categories and subcategories under the given blocks."""
    found = set()
    for system, url in ((terminology.icd10, icd10.URL), (terminology.kcd, kcd.URL)):
        if system is None:
            continue
        for block in ranges:
            found.update((url, code) for code in system.descendants(block) if system.concepts[code].kind
                         not in ("chapter", "block"))
    return found


def _is_rare(terminology, orphacode: str) -> bool:
    concept = terminology.orphanet.code_system.get(orphacode)
    return concept is not None and not concept.display.upper().startswith("NON RARE IN EUROPE")


def _neoplasm(code: str) -> bool:
    return "C00" <= code[:3] <= "D48"


def _with_kcd_subcodes(terminology, icd_codes: set[str]) -> set[tuple[str, str]]:
    found = {(icd10.URL, code) for code in icd_codes}
    if terminology.kcd is not None:
        for code in icd_codes:
            if code in terminology.kcd:
                found.add((kcd.URL, code))
                found.update((kcd.URL, below) for below in terminology.kcd.descendants(code))
    return found


def _counts_as_the_rare_disease(alignment: orphanet.Alignment) -> bool:
    return alignment.relation == "E" or (alignment.relation == "NTBT" and not _neoplasm(alignment.icd10))


def orpha_diagnoses(terminology, orphacode: str, below: bool) -> set[tuple[str, str]]:
    """How a diagnosis of the ORPHA concept (and, if ``below``, of those under it) is recorded: the ORPHAcodes
    themselves and the ICD-10 and KCD codes aligned to them, by the rare-disease value set's rule."""
    code_system = terminology.orphanet.code_system
    orphacodes = {orphacode, *(code_system.descendants(orphacode) if below and orphacode in code_system else ())}
    icd_codes = {alignment.icd10 for alignment in terminology.orphanet.alignments
                 if alignment.orphacode in orphacodes and alignment.icd10 in terminology.icd10
                 and _counts_as_the_rare_disease(alignment)}
    return _with_kcd_subcodes(terminology, icd_codes) | {(orphanet.URL, code) for code in orphacodes}


def _rare_diseases(terminology) -> set[tuple[str, str]]:
    icd_codes = {alignment.icd10 for alignment in terminology.orphanet.alignments
                 if _is_rare(terminology, alignment.orphacode) and alignment.icd10 in terminology.icd10
                 and _counts_as_the_rare_disease(alignment)}
    found = _with_kcd_subcodes(terminology, icd_codes)
    found.update((orphanet.URL, code) for code in terminology.orphanet.code_system.concepts
                 if _is_rare(terminology, code))
    for code in terminology.copayment.rare:  # the Korean rare-disease list, in KCD
        found.add((kcd.URL, code))
        if terminology.kcd is not None:
            found.update((kcd.URL, below) for below in terminology.kcd.descendants(code))
    return found


def _rare_cancers(terminology) -> set[tuple[str, str]]:
    branch = terminology.orphanet.classification_descendants(orphanet.RARE_NEOPLASMS, orphanet.RARE_NEOPLASM_ROOT)
    icd_codes = {alignment.icd10 for alignment in terminology.orphanet.alignments
                 if alignment.orphacode in branch and alignment.relation == "E"
                 and alignment.icd10 in terminology.icd10}
    return _with_kcd_subcodes(terminology, icd_codes) | {(orphanet.URL, code) for code in branch}


COHORT_VALUE_SETS = (
    CohortValueSet("all-cancers", "All cancers", "Malignant neoplasms: ICD-10 and KCD C00-C97.",
                   lambda terminology: _codes_under(terminology, ("C00-C97",))),
    CohortValueSet("in-situ-neoplasms", "In-situ neoplasms", "ICD-10 and KCD D00-D09.",
                   lambda terminology: _codes_under(terminology, ("D00-D09",))),
    CohortValueSet("rare-diseases", "Rare diseases",
                   "ORPHAcodes, the ICD-10 (and KCD) codes aligned to them by Orphanet, and the Korean "
                   "rare-disease copayment list when loaded.", _rare_diseases),
    CohortValueSet("rare-cancers", "Rare cancers",
                   "The Orphanet classification of rare neoplastic diseases (ORPHA:250908 and below) and the "
                   "ICD-10 (and KCD) codes exactly aligned to it.", _rare_cancers),
)


def by_url(url: str) -> CohortValueSet | None:
    return next((value_set for value_set in COHORT_VALUE_SETS if value_set.url == url.split("|", 1)[0]), None)


def memberships(terminology) -> dict[tuple[str, str], tuple[str, ...]]:
    """(system, code) -> the URLs of the cohort value sets that contain it."""
    found: dict[tuple[str, str], list[str]] = {}
    for value_set in COHORT_VALUE_SETS:
        for member in value_set.members(terminology):
            found.setdefault(member, []).append(value_set.url)
    return {member: tuple(urls) for member, urls in found.items()}
