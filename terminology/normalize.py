"""Messy EMR diagnosis code strings -> canonical codings with display names and cohort memberships, or an
explicit "unrecognized" with the reason. It never invents a code: a fix is only made towards a code that
exists, and every fix is reported.

Handled: case, spaces, missing or extra dots (``C509``), dagger and asterisk marks (``A17.0†``,
``G01*``), trailing fillers (``C50.9-``), full-width characters (``Ｃ５０．９``), over-long subcodes that
truncate to an existing parent (``C50.90`` -> ``C50.9``, reported), KCD-only codes (with their ICD-10
parent), and ORPHAcodes (``ORPHA:558``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from terminology.codesystem import CodeSystem
from terminology.systems import icd10, kcd, orphanet
from terminology.valuesets import memberships

_MARKS = str.maketrans("", "", "†‡✝+*")
_FILLER = "-.X "
_SHAPE = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]{0,4}$")
_ORPHA = re.compile(r"^ORPHA(?:NET)?(?:CODE)?[:_\- ]*([0-9]+)$")
_CACHE_LIMIT = 200_000


@dataclass(frozen=True, slots=True)
class Coding:
    system: str
    code: str
    display: str
    version: str


@dataclass(frozen=True, slots=True)
class Normalized:
    source: str
    status: str  # exact, reformatted, truncated or unrecognized
    codings: tuple[Coding, ...] = ()  # the first is the canonical coding; a KCD-only code adds its ICD-10 parent
    cohorts: tuple[str, ...] = ()  # cohort value set URLs
    notes: tuple[str, ...] = ()  # what was changed, or why it is unrecognized

    @property
    def recognized(self) -> bool:
        return self.status != "unrecognized"


class Normalizer:
    def __init__(self, terminology):
        self.terminology = terminology
        self._memberships = memberships(terminology)
        self._cache: dict[tuple[str, str | None], Normalized] = {}  # by the code as given
        self._resolved: dict[tuple[str, str | None], tuple] = {}  # by the code upper-cased and trimmed
        self._by_code: dict[tuple[str, str], tuple] = {}  # by (system, existing code)

    @staticmethod
    def handles(system: str | None) -> bool:
        """Whether ``system`` is one normalize knows (None: any of them); other systems' codes pass unchanged."""
        return system in (None, icd10.URL, kcd.URL, orphanet.URL, *kcd.EDITION_URLS.values())

    def normalize(self, source: str, system: str | None = None) -> Normalized:
        key = (source, system)
        found = self._cache.get(key)
        if found is None:
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
                self._resolved.clear()
            found = self._cache[key] = self._normalize(source, system)
        return found

    def _normalize(self, source: str, system: str | None) -> Normalized:
        if not isinstance(source, str):
            return Normalized(str(source), "unrecognized", notes=("not a text code",))
        text = (source if source.isascii() else unicodedata.normalize("NFKC", source)).strip().upper()
        resolved = self._resolved.get((text, system))
        if resolved is None:
            resolved = self._resolved[(text, system)] = self._clean(text, system)
        status, codings, cohorts, notes = resolved
        if text != source:
            notes = ("case, width or surrounding spaces normalized", *notes)
        if status == "exact" and codings[0].code != source:
            status = "reformatted"
        return Normalized(source, status, codings, cohorts, notes)

    def _clean(self, text: str, system: str | None) -> tuple:
        """(status, codings, cohorts, notes) for an upper-cased, trimmed code: the same for each spelling."""
        if not text:
            return "unrecognized", (), (), ("empty code",)
        orpha = _ORPHA.match(text.replace(" ", "")) if text.startswith("ORPHA") else None
        if orpha or system == orphanet.URL:
            return self._orphanet(orpha.group(1) if orpha else text)
        if not self.handles(system):
            return "unrecognized", (), (), (f"the system `{system}` is not one normalize knows",)
        notes = []
        marked = text.translate(_MARKS)
        if marked != text:
            notes.append("dagger/asterisk mark removed")
        compact = marked.replace(" ", "").replace(".", "")
        stripped = compact[:3] + compact[3:].rstrip(_FILLER)
        if stripped != compact:
            notes.append(f"trailing filler `{compact[len(stripped):]}` removed")
        if system not in (None, icd10.URL) and self.terminology.kcd is None:
            # KCD specializes ICD-10: without the KCD list loaded, its codes are checked against ICD-10.
            notes.append("KCD is not loaded: checked against ICD-10")
        status, codings, cohorts, more = self._resolve(text, stripped, system)
        return status, codings, cohorts, (*notes, *more)

    def _resolve(self, text: str, stripped: str, system: str | None):
        """(status, codings, cohorts, notes) of a code without marks, fillers, dots and spaces."""
        if not _SHAPE.match(stripped) or text.count(".") > 1:
            return "unrecognized", (), (), (f"`{text}` is not shaped like an ICD-10 or KCD code",)
        systems = self._systems(system)
        candidate = stripped
        while len(candidate) >= 3:
            code = candidate if len(candidate) == 3 else f"{candidate[:3]}.{candidate[3:]}"
            for url, code_system in systems:
                if code in code_system and code_system.concepts[code].kind not in ("chapter", "block"):
                    codings, cohorts, notes = self._codings(url, code)
                    if candidate == stripped:
                        return "exact", codings, cohorts, notes
                    truncated = f"`{stripped[:3]}.{stripped[3:]}` is not a code; truncated to its parent `{code}`"
                    return "truncated", codings, cohorts, (truncated, *notes)
            candidate = candidate[:-1]
        names = " or ".join(url for url, _ in systems)
        return "unrecognized", (), (), (f"`{stripped}` is not a code of {names}",)

    def _systems(self, system: str | None) -> list[tuple[str, CodeSystem]]:
        terminology = self.terminology
        if system is not None and system != icd10.URL and terminology.kcd is not None:
            return [(kcd.URL, terminology.kcd)]
        found = [(icd10.URL, terminology.icd10)]
        if terminology.kcd is not None:
            found.append((kcd.URL, terminology.kcd))
        return found

    def _codings(self, url: str, code: str) -> tuple[tuple[Coding, ...], tuple[str, ...], tuple[str, ...]]:
        """The codings, cohorts and notes of an existing code, computed once per code."""
        found = self._by_code.get((url, code))
        if found is not None:
            return found
        terminology, notes = self.terminology, []
        code_system = terminology.icd10 if url == icd10.URL else terminology.kcd
        codings = [Coding(url, code, code_system.concepts[code].display, code_system.version)]
        if url == kcd.URL and code not in terminology.icd10:
            parent = next((ancestor for ancestor in _upwards(code) if ancestor in terminology.icd10), None)
            notes.append("a KCD code without its own ICD-10 code" + (f"; ICD-10 parent `{parent}`" if parent else ""))
            if parent:
                codings.append(Coding(icd10.URL, parent, terminology.icd10.concepts[parent].display, icd10.VERSION))
        elif url == icd10.URL and terminology.kcd is not None and code in terminology.kcd:
            codings.append(Coding(kcd.URL, code, terminology.kcd.concepts[code].display, terminology.kcd.version))
        cohorts = sorted({cohort for coding in codings
                          for cohort in self._memberships.get((coding.system, coding.code), ())})
        found = self._by_code[(url, code)] = (tuple(codings), tuple(cohorts), tuple(notes))
        return found

    def _orphanet(self, digits: str) -> tuple:
        code_system = self.terminology.orphanet.code_system
        code = digits.lstrip("0") or "0"
        if code not in code_system:
            return "unrecognized", (), (), (f"`ORPHA:{code}` is not an ORPHAcode",)
        coding = Coding(orphanet.URL, code, code_system.concepts[code].display, code_system.version)
        return "exact", (coding,), self._memberships.get((orphanet.URL, code), ()), ()


def _upwards(code: str):
    compact = code.replace(".", "")
    for length in range(len(compact) - 1, 2, -1):
        yield f"{compact[:3]}.{compact[3:length]}" if length > 3 else compact[:3]
    yield compact[:3]
