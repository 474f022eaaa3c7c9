"""KCD, the Korean Standard Classification of Diseases (한국표준질병사인분류), from the code list a deployer
supplies. Statistics Korea publishes it (https://kssc.kostat.go.kr); it is not shipped here.

Accepted files: CSV (UTF-8, or CP949 as exported by Korean Excel) or Excel ``.xlsx``, one code per row
with the code, the Korean name and the English name. A header row is recognised by its names (코드,
질병분류코드, 상병코드, code / 한글명, 한글, 국문명, korean / 영문명, 영문, english); without one, the first
three columns are taken in that order. Codes may be written with or without the dot (``C50.9``,
``C509``). KCD follows ICD-10 and adds finer codes: a five-character code (``C50.91``) specializes its
four-character ICD-10 parent (``C50.9``), which is how the hierarchy is built.
"""

from __future__ import annotations

import re

from terminology.codesystem import CodeSystem, Concept

URL = "http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8"  # KR Core's canonical URL for KCD
EDITION_URLS = {edition: f"http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-{edition}" for edition in ("7", "8", "9")}

_CODE = re.compile(r"^[A-Z][0-9]{2}[0-9A-Z]*$")
_HEADERS = {
    "code": ("코드", "질병분류코드", "상병코드", "분류코드", "code", "kcd", "kcd code"),
    "korean": ("한글명", "한글", "국문명", "한글 명칭", "korean", "korean name", "name_ko"),
    "english": ("영문명", "영문", "영문 명칭", "english", "english name", "name_en"),
}


def canonical_code(raw: str) -> str | None:
    """``c509`` or ``C50.9`` -> ``C50.9``; None if it is no KCD-shaped code."""
    code = raw.strip().upper().replace(".", "")
    if not _CODE.match(code):
        return None
    return code if len(code) == 3 else f"{code[:3]}.{code[3:]}"


def _columns(header: list[str]) -> dict[str, int] | None:
    names = [cell.strip().lower() for cell in header]
    found = {}
    for field, candidates in _HEADERS.items():
        for index, name in enumerate(names):
            if name in candidates:
                found[field] = index
                break
    return found if "code" in found else None


def parse(rows: list[list[str]], base: CodeSystem, edition: str = "8") -> tuple[CodeSystem, list[str]]:
    """The KCD code system of one edition over ICD-10 ``base``, and the rejected rows (line and why)."""
    if edition not in EDITION_URLS:
        raise ValueError(f"KCD edition `{edition}` is unknown; expected one of 7, 8, 9")
    columns = _columns(rows[0]) if rows else None
    body = rows[1:] if columns else rows
    columns = columns or {"code": 0, "korean": 1, "english": 2}
    concepts: dict[str, Concept] = {}
    rejected = []
    for line, row in enumerate(body, start=2 if rows and body is not rows else 1):
        cell = row[columns["code"]] if len(row) > columns["code"] else ""
        if not any(row):
            continue
        code = canonical_code(cell)
        if code is None:
            rejected.append(f"line {line}: `{cell}` is not a KCD code")
            continue
        korean = _cell(row, columns.get("korean"))
        english = _cell(row, columns.get("english"))
        designations = tuple((language, text) for language, text in (("ko", korean), ("en", english)) if text)
        concepts[code] = Concept(code, english or korean or code, _kind(code), designations)
    parents = {code: (parent,) for code in concepts if (parent := _parent(code, concepts, base))}
    # KCD shares ICD-10's chapters and blocks, and any ICD-10 code above a listed one that the list omits.
    pending = [parent for (parent,) in parents.values()]
    while pending:
        code = pending.pop()
        if code not in concepts and code in base:
            concepts[code] = base.concepts[code]
            if code in base.parents:
                parents[code] = base.parents[code]
                pending.extend(base.parents[code])
    system = CodeSystem(URL, edition, "KCD", f"KCD-{edition} (Korean Standard Classification of Diseases)",
                        concepts, parents, publisher="Statistics Korea (KOSTAT)")
    return system, rejected


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) and row[index] else ""


def _kind(code: str) -> str:
    return {3: "category", 5: "subcategory"}.get(len(code), "kcd-subdivision")


def _parent(code: str, concepts: dict[str, Concept], base: CodeSystem) -> str | None:
    """A longer code specializes the code one character shorter; a category sits in ICD-10's block."""
    if len(code) == 3:
        return base.parents.get(code, (None,))[0]
    shorter = code[:-1].rstrip(".")
    return shorter if shorter in concepts or shorter in base else None
