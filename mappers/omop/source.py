"""The rows of a CDM's tables, from a folder of CSV files (table names in either case, `PERSON.csv` or
`person.csv`) or from a database (SQLAlchemy URL; PostgreSQL or SQLite), one dict per row with lower-case
column names and text values, each with its source (file and line, or table and row number)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterator

from mappers.base import Source
from mappers.omop.concepts import Concept, Concepts


class OmopSourceError(ValueError):
    """The CDM cannot be read at all."""


class CsvFolder:
    def __init__(self, folder: Path):
        if not folder.is_dir():
            raise OmopSourceError(f"`{folder}` is not a folder of OMOP CDM CSV files")
        self.folder = folder
        self._files = {path.stem.lower(): path for path in folder.glob("*.csv")}
        if "person" not in self._files:
            raise OmopSourceError(f"`{folder}` has no person.csv: is it an OMOP CDM export?")
        if "concept" not in self._files:
            raise OmopSourceError(f"`{folder}` has no concept.csv: the codes cannot be read without the CONCEPT table")

    def has(self, table: str) -> bool:
        return table in self._files

    def rows(self, table: str) -> Iterator[tuple[Source, dict[str, str]]]:
        path = self._files.get(table)
        if path is None:
            return
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [column.strip().lower() for column in next(reader, [])]
            line = reader.line_num
            for row in reader:
                yield Source(path.name, line + 1), dict(zip(header, row)) if len(row) == len(header) else \
                    {"__width__": f"the row has {len(row)} fields, the header {len(header)}"}
                line = reader.line_num

    def concepts(self, wanted: set[int]) -> Concepts:
        found = {}
        for _, row in self.rows("concept"):
            try:
                concept_id = int(row["concept_id"])
            except (KeyError, ValueError):
                continue
            if concept_id in wanted:
                found[concept_id] = Concept(concept_id, row["vocabulary_id"], row["concept_code"], row["concept_name"])
        return Concepts(found)


class Database:
    """A CDM in a database; ``schema`` is where its tables are (PostgreSQL), if not the default."""

    def __init__(self, url: str, schema: str | None = None):
        import sqlalchemy

        try:
            self.engine = sqlalchemy.create_engine(url)
            tables = {name.lower(): name for name in sqlalchemy.inspect(self.engine).get_table_names(schema=schema)}
        except Exception as error:  # any driver's connection failure: unusable source
            raise OmopSourceError(f"cannot read the database: {str(error).splitlines()[0]}") from None
        if "person" not in tables or "concept" not in tables:
            raise OmopSourceError("the database has no person or no concept table: is it an OMOP CDM?")
        self._tables, self._schema = tables, schema

    def has(self, table: str) -> bool:
        return table in self._tables

    def rows(self, table: str) -> Iterator[tuple[Source, dict[str, str]]]:
        import sqlalchemy

        if table not in self._tables:
            return
        name = self._tables[table]
        target = sqlalchemy.table(name, schema=self._schema)
        with self.engine.connect().execution_options(stream_results=True, yield_per=2000) as connection:
            result = connection.execute(sqlalchemy.select(sqlalchemy.text("*")).select_from(target))
            columns = [column.lower() for column in result.keys()]
            for number, row in enumerate(result, start=1):
                yield Source(table, number), {column: "" if value is None else str(value)
                                              for column, value in zip(columns, row)}

    def concepts(self, wanted: set[int]) -> Concepts:
        import sqlalchemy

        found, ids = {}, sorted(wanted)
        concept = sqlalchemy.table(self._tables["concept"], sqlalchemy.column("concept_id"),
                                   sqlalchemy.column("vocabulary_id"), sqlalchemy.column("concept_code"),
                                   sqlalchemy.column("concept_name"), schema=self._schema)
        with self.engine.connect() as connection:
            for start in range(0, len(ids), 1000):
                for row in connection.execute(sqlalchemy.select(concept).where(
                        concept.c.concept_id.in_(ids[start:start + 1000]))):
                    found[int(row[0])] = Concept(int(row[0]), row[1], row[2], row[3])
        return Concepts(found)

    def close(self) -> None:
        self.engine.dispose()
