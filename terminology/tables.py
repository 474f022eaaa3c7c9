"""The compact tab-separated tables terminology ships and writes: UTF-8, one row per line, no quoting rules
beyond the csv module's."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from terminology.codesystem import CodeSystem, Concept


def write(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as stream:
        csv.writer(stream, delimiter="\t", lineterminator="\n").writerows(rows)


def read(path) -> list[list[str]]:
    """``path`` may be a Path or an importlib.resources Traversable."""
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.reader(stream, delimiter="\t"))


def write_code_system(path: Path, system: CodeSystem) -> None:
    """A loaded code system as one table: a header row (url, version, name, title, publisher, copyright),
    then code, display, kind, active (1/0), parents (space-separated), designations (JSON [[lang, text]])."""
    rows = [(system.url, system.version, system.name, system.title, system.publisher, system.copyright)]
    rows += [(concept.code, concept.display, concept.kind or "", "1" if concept.active else "0",
              " ".join(system.parents.get(code, ())),
              json.dumps(concept.designations, ensure_ascii=False) if concept.designations else "")
             for code, concept in system.concepts.items()]
    write(path, rows)


def read_code_system(path) -> CodeSystem:
    rows = read(path)
    url, version, name, title, publisher, copyright_ = rows[0]
    concepts, parents = {}, {}
    for code, display, kind, active, above, designations in rows[1:]:
        concepts[code] = Concept(code, display, kind or None,
                                 tuple(tuple(pair) for pair in json.loads(designations)) if designations else (),
                                 active == "1")
        if above:
            parents[code] = tuple(above.split(" "))
    return CodeSystem(url, version, name, title, concepts, parents, publisher=publisher, copyright=copyright_)


def read_supplied(path: Path) -> list[list[str]]:
    """The rows of a file a deployer supplies, as text cells: CSV or tab-separated text in UTF-8 or CP949
    (as Korean Excel exports it), or .xlsx."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import openpyxl  # only a deployer loading Excel needs it

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook.worksheets[0]
            return [["" if cell is None else str(cell).strip() for cell in row]
                    for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()
    data = path.read_bytes()
    for encoding in ("utf-8-sig", "cp949"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValueError(f"`{path.name}` is neither UTF-8 nor CP949 text")
    first_line = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first_line else ";" if ";" in first_line and "," not in first_line else ","
    return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
