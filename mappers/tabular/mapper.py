"""A spec's tables, row by row, to FHIR resources: one ``Mapped`` or ``Rejected`` per row read.

Tables run in loading order (patients, visits, then the rest) so that a row naming a patient or a visit
that is not in the export, or was rejected, is rejected itself with that reason instead of pointing at
nothing. Ids come from each table's key (``mappers.ids``); a key seen twice in one import is rejected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo

from terminology.normalize import Normalizer

from mappers import ids, numbers
from mappers.base import Mapped, RecordError, Rejected, Result, Source
from mappers.diagnoses import diagnosis_concept
from mappers.tabular import values
from mappers.tabular.kinds import KINDS
from mappers.tabular.reader import SourceError, delimiter_for, read_rows
from mappers.tabular.record import Record
from mappers.tabular.spec import ElementSpec, Spec, TableSpec

Row = tuple[Source, dict[str, str]]


class TabularMapper:
    def __init__(self, spec: Spec, normalizer: Normalizer):
        self.spec = spec
        self.normalizer = normalizer
        self._ids: dict[str, dict[str, int | None]] = {}  # kind -> id -> line of the row that made it
        self._present = {table.kind for table in spec.tables}

    def tables(self) -> list[TableSpec]:
        order = list(KINDS)
        return sorted(self.spec.tables, key=lambda table: order.index(table.kind))

    def check_folder(self, folder: Path) -> int:
        """Raise SourceError naming every table file that is missing or unreadable; else the number of
        data lines (a record may span lines, so this is an estimate for progress)."""
        problems, lines = [], 0
        if not folder.is_dir():
            raise SourceError(f"`{folder}` is not a folder")
        for table in self.spec.tables:
            path = folder / table.file
            try:
                with path.open("rb") as handle:
                    count = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
                lines += max(count - 1, 0)
            except OSError as error:
                problems.append(f"{table.file} (spec line {table.line}): {error.strerror or error}")
        if problems:
            raise SourceError("cannot read " + "; ".join(problems))
        return lines

    def map_folder(self, folder: Path) -> Iterator[Result]:
        """Read and map every table of the spec from ``folder`` (raises reader.SourceError for a file that
        cannot be read at all, before anything of it is mapped)."""
        for table in self.tables():
            path = folder / table.file
            rows = read_rows(path, table.file, table.encoding, delimiter_for(path, table.delimiter))
            yield from self.map_rows(table, rows)

    def map_rows(self, table: TableSpec, rows: Iterable[Row | Rejected]) -> Iterator[Result]:
        kind = KINDS[table.kind]
        seen = self._ids.setdefault(table.kind, {})
        zone = ZoneInfo(table.timezone)
        checked_header, missing = False, None
        for row in rows:
            if isinstance(row, Rejected):
                yield row
                continue
            source, cells = row
            if not checked_header:
                missing = _missing_columns(table, cells)
                checked_header = True
            if missing:
                yield Rejected(source, missing[1], missing[0])
                continue
            try:
                key = tuple(cells[column].strip() for column in table.key)
                if not any(key):  # a part of a composite key may be empty, as Synthea's ENCOUNTER often is
                    raise RecordError("the key is empty", ",".join(table.key))
                id_ = ids.resource_id(self.spec.source_system, kind.RESOURCE_TYPE, *key)
                if id_ in seen:
                    raise RecordError(f"the key {'/'.join(key)} was already read at line {seen[id_]}",
                                      ",".join(table.key))
                record = Record(id_, self._values(table, kind, cells, zone))
                resource = kind.build(record)
            except RecordError as error:
                yield Rejected(source, error.reason, error.field)
                continue
            seen[id_] = source.line
            yield Mapped(source, [resource])

    def _values(self, table: TableSpec, kind, cells: dict[str, str], zone: ZoneInfo) -> dict[str, object]:
        found = {}
        for element, specs in table.elements.items():
            value_type = kind.ELEMENTS[element]
            value = (self._coded(element, value_type, specs, cells) if value_type.coded
                     else self._single(element, value_type, specs[0], cells, zone))
            if value is not None:
                found[element] = value
            elif element in kind.REQUIRED:
                raise RecordError(f"`{element}` is required but the cell is empty", _columns(specs))
        return found

    def _single(self, element: str, value_type: values.ValueType, spec: ElementSpec, cells: dict[str, str],
                zone: ZoneInfo) -> object:
        text = _cell(spec, cells)
        if text is None:
            return None
        column = spec.column or element
        if spec.map is not None:
            if text not in spec.map:
                raise RecordError(f"`{text}` is not in the spec's map for `{element}` (line {spec.line}): "
                                  f"add it, or correct the cell", column)
            text = spec.map[text]
        name = value_type.name
        if value_type.allowed and text not in value_type.allowed:
            raise RecordError(f"`{text}` is not a code `{element}` takes ({', '.join(value_type.allowed)}); "
                              f"map it in the spec (line {spec.line})", column)
        if name == "reference":
            return self._reference(value_type.references, text, column)
        if name == "identifier":
            return {"system": spec.system, "value": text} if spec.system else {"value": text}
        if name == "unit":
            return {"unit": text, "system": spec.system, "code": text} if spec.system else {"unit": text}
        if name == "date":
            return values.parse_date(text, spec.format, column)
        if name == "dateTime":
            return values.parse_datetime(text, spec.format, zone, column)
        if name == "decimal":
            return numbers.decimal(text, column)
        if name == "integer":
            return numbers.whole(text, column)
        if name == "result":
            try:
                return values.parse_quantity_value(text, column)
            except RecordError:
                return text  # not a number: a text result such as `양성`
        return text

    def _coded(self, element: str, value_type: values.ValueType, specs: tuple[ElementSpec, ...],
               cells: dict[str, str]) -> dict | None:
        codings = []
        for spec in specs:
            code = _cell(spec, cells)
            if code is None:
                continue
            if spec.map is not None:
                code = spec.map.get(code, code)
            display = (cells.get(spec.display) or "").strip() or None if spec.display else None
            system = _system(spec, cells)
            if value_type.name == "diagnosis":
                return diagnosis_concept(self.normalizer, code, system, display, field=spec.column or element,
                                         keep_unrecognized=self.spec.unknown_diagnosis_codes == "keep")
            coding = {"system": system, "code": code, "display": display}
            codings.append({key: value for key, value in coding.items() if value is not None})
        if not codings:
            return None
        text = next((coding["display"] for coding in codings if "display" in coding), None)
        return {"coding": codings, "text": text} if text else {"coding": codings}

    def _reference(self, kind: str, key: str, column: str) -> dict:
        resource_type = KINDS[kind].RESOURCE_TYPE
        id_ = ids.resource_id(self.spec.source_system, resource_type, key)
        if kind in self._present and id_ not in self._ids.get(kind, {}):
            raise RecordError(f"{kind[:-1]} `{key}` is not in the export's {kind} table, or was rejected", column)
        return {"reference": f"{resource_type}/{id_}"}


def _cell(spec: ElementSpec, cells: dict[str, str]) -> str | None:
    text = spec.value if spec.column is None else cells.get(spec.column, "")
    text = text.strip() if text else ""
    return text or None


def _system(spec: ElementSpec, cells: dict[str, str]) -> str | None:
    if spec.system_column is None:
        return spec.system
    name = cells.get(spec.system_column, "").strip()
    if name not in spec.systems:
        raise RecordError(f"`{name}` is not a code system the spec's `systems` names (line {spec.line}): "
                          f"{', '.join(spec.systems)}", spec.system_column)
    return spec.systems[name]


def _columns(specs: tuple[ElementSpec, ...]) -> str:
    return ",".join(spec.column for spec in specs if spec.column) or None


def _missing_columns(table: TableSpec, cells: dict[str, str]) -> tuple[str, str] | None:
    """(the columns, the reason) when the header lacks columns the spec names: no row of the file can map."""
    needed = [*table.key, *(name for specs in table.elements.values() for spec in specs
                            for name in (spec.column, spec.display, spec.system_column) if name)]
    missing = sorted({column for column in needed if column not in cells})
    if not missing:
        return None
    return ",".join(missing), (
        f"column{'s' if len(missing) > 1 else ''} {', '.join(f'`{c}`' for c in missing)} named by the spec "
        f"(table at line {table.line}) {'are' if len(missing) > 1 else 'is'} not in the header of {table.file}")
