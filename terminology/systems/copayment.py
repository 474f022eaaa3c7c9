"""Korean special-copayment registration codes (본인일부부담금 산정특례 특정기호): which V-code a diagnosis
registers under. The cancer rule ships as data (``data/copayment-cancer.tsv``); the rare-disease list
(희귀질환 산정특례 대상 질환, published by the Ministry of Health and Welfare with HIRA) is loaded from the
file a deployer supplies: CSV or .xlsx with the V-code, the KCD code and the disease name.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from importlib import resources

from terminology.systems.kcd import canonical_code

URL = "http://fhir-server.kr/CodeSystem/copayment-registration"

_HEADERS = {"v_code": ("특정기호", "산정특례 특정기호", "v코드", "v-code", "v_code", "vcode"),
            "kcd": ("상병코드", "kcd", "kcd 코드", "kcd code", "질병분류코드", "코드", "code"),
            "name": ("질환명", "상병명", "질병명", "name", "disease")}


@dataclass
class Copayment:
    ranges: list[tuple[str, str, str]]  # (V-code, first category, last category), e.g. (V193, C00, C97)
    rare: dict[str, set[str]] = field(default_factory=dict)  # KCD code -> V-codes
    names: dict[str, str] = field(default_factory=dict)  # V-code -> name

    def codes_for(self, code: str) -> set[str]:
        """The V-codes a canonical ICD-10/KCD code registers under (a listed code covers its subcodes)."""
        category = code[:3]
        found = {v_code for v_code, first, last in self.ranges if first <= category <= last}
        for length in range(len(code), 2, -1):
            found |= self.rare.get(code[:length].rstrip("."), set())
        return found


def load_cancer_rule() -> Copayment:
    ranges, names = [], {}
    with (resources.files("terminology") / "data" / "copayment-cancer.tsv").open(encoding="utf-8") as stream:
        for v_code, span, name in csv.reader((line for line in stream if not line.startswith("#")), delimiter="\t"):
            first, _, last = span.partition("-")
            ranges.append((v_code, first, last or first))
            names[v_code] = name
    return Copayment(ranges, {}, names)


def parse_rare_list(rows: list[list[str]]) -> tuple[dict[str, set[str]], dict[str, str], list[str]]:
    """KCD code -> V-codes, V-code -> name, and the rejected rows (line and why)."""
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    columns = {field_: next((index for index, name in enumerate(header) if name in names), None)
               for field_, names in _HEADERS.items()}
    if columns["v_code"] is None or columns["kcd"] is None:
        columns, body, first_line = {"v_code": 0, "kcd": 1, "name": 2}, rows, 1
    else:
        body, first_line = rows[1:], 2
    rare: dict[str, set[str]] = {}
    names: dict[str, str] = {}
    rejected = []
    for line, row in enumerate(body, start=first_line):
        if not any(row):
            continue
        v_code = row[columns["v_code"]].strip().upper() if len(row) > columns["v_code"] else ""
        raw = row[columns["kcd"]] if len(row) > columns["kcd"] else ""
        code = canonical_code(raw)
        if not (len(v_code) == 4 and v_code[0] == "V" and v_code[1:].isdigit()):
            rejected.append(f"line {line}: `{v_code}` is not a V-code")
        elif code is None:
            rejected.append(f"line {line}: `{raw}` is not a KCD code")
        else:
            rare.setdefault(code, set()).add(v_code)
            if columns.get("name") is not None and len(row) > columns["name"] and row[columns["name"]]:
                names.setdefault(v_code, row[columns["name"]].strip())
    return rare, names, rejected
