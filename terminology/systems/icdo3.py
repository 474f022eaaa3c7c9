"""ICD-O-3 (International Classification of Diseases for Oncology) from the files a deployer obtains from
WHO (ICD-O-3.2, https://www.who.int/standards/classifications/other-classifications/international-classification-of-diseases-for-oncology;
licence terms forbid shipping it here) or the SEER copies of ICD-O-3 (``Topoenglish.txt``,
``Morphenglish.txt``, https://seer.cancer.gov/icd-o-3/).

Accepted: CSV, tab-separated text or ``.xlsx`` with a header naming the code column (ICDO3.2, Code, Kode),
the level column (Level, Lvl, Struct) and the term column (Term, Title, Label). Rows whose level is
preferred (Preferred, title, 3, 4) are concepts; synonyms and related terms become English designations.
Topography codes (``C50.9``) specialize their category (``C50``); morphology codes (``8140/3``) carry their
behaviour after the slash and sit under the histology's ``/0`` ... ``/9`` family ``8140``.
"""

from __future__ import annotations

import re

from terminology.codesystem import CodeSystem, Concept

URL = "http://terminology.hl7.org/CodeSystem/icd-o-3"
_CODE = {"icdo3.2", "icd-o-3.2", "code", "kode", "icdo3"}
_LEVEL = {"level", "lvl", "struct"}
_TERM = {"term", "title", "label", "description"}
_PREFERRED = {"preferred", "title", "3", "4"}
_TOPOGRAPHY = re.compile(r"^C[0-9]{2}(\.[0-9])?$")
_MORPHOLOGY = re.compile(r"^[0-9]{4}/[0-9]$")


def parse(rows: list[list[str]], version: str = "3.2") -> tuple[CodeSystem, list[str]]:
    """The ICD-O-3 code system, and the rejected rows (line and why)."""
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    columns = {name: next((index for index, cell in enumerate(header) if cell in names), None)
               for name, names in (("code", _CODE), ("level", _LEVEL), ("term", _TERM))}
    if columns["code"] is None or columns["term"] is None:
        raise ValueError("an ICD-O-3 file needs a header naming its code and term columns (e.g. ICDO3.2, Level, Term)")
    concepts: dict[str, Concept] = {}
    synonyms: dict[str, list[str]] = {}
    rejected = []
    for line, row in enumerate(rows[1:], start=2):
        if not any(row):
            continue
        raw = row[columns["code"]].strip() if len(row) > columns["code"] else ""
        code = _canonical(raw)
        term = row[columns["term"]].strip() if len(row) > columns["term"] else ""
        level = row[columns["level"]].strip().lower() if columns["level"] is not None and len(row) > columns["level"] \
            else "preferred"
        if code is None:
            rejected.append(f"line {line}: `{raw}` is not an ICD-O-3 topography or morphology code")
        elif not term:
            rejected.append(f"line {line}: `{raw}` has no term")
        elif level in _PREFERRED and code not in concepts:
            concepts[code] = Concept(code, term, "topography" if code.startswith("C") else "morphology")
        else:
            synonyms.setdefault(code, []).append(term)
    for code, terms in synonyms.items():
        if code in concepts:
            concept = concepts[code]
            concepts[code] = Concept(code, concept.display, concept.kind, tuple(("en", term) for term in terms))
        else:
            rejected.append(f"`{code}` has synonyms but no preferred term")
    parents = {}
    for code in list(concepts):
        parent = code[:3] if "." in code else code.split("/")[0] if "/" in code else None
        if parent is not None:
            if parent not in concepts:
                concepts[parent] = Concept(parent, f"Histology {parent}" if "/" in code else parent,
                                           "histology" if "/" in code else "topography")
            parents[code] = (parent,)
    return CodeSystem(URL, version, "ICDO3", f"ICD-O-3 (version {version})", concepts, parents,
                      publisher="World Health Organization"), rejected


def _canonical(raw: str) -> str | None:
    code = raw.strip().upper()
    if re.fullmatch(r"C[0-9]{3}", code):
        code = f"{code[:3]}.{code[3]}"
    if re.fullmatch(r"[0-9]{5}", code):
        code = f"{code[:4]}/{code[4]}"
    return code if _TOPOGRAPHY.match(code) or _MORPHOLOGY.match(code) else None
