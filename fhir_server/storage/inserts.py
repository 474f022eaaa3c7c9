"""INSERTs of many rows at once, through the database driver."""

from __future__ import annotations

from operator import itemgetter
from typing import Callable

from sqlalchemy import Connection, bindparam, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

_insert_statements: dict[tuple, tuple[str, Callable[[dict], tuple] | None]] = {}


def insert_many(connection: Connection, table, rows: list[dict]) -> None:
    """Insert rows with the driver's executemany: SQLAlchemy's per-row parameter processing cost as
    much as the inserts themselves in a large transaction. Rows of one table share their keys."""
    columns = tuple(rows[0])
    key = (connection.dialect.name, table.name, columns)
    if key not in _insert_statements:
        compiled = insert(table).values({column: bindparam(column) for column in columns}).compile(
            dialect=connection.dialect)
        _insert_statements[key] = (str(compiled), _values_in_order(compiled.positiontup) if compiled.positional
                                   else None)
    sql, positional = _insert_statements[key]
    connection.exec_driver_sql(sql, list(map(positional, rows)) if positional else rows)


def _values_in_order(columns: list[str]) -> Callable[[dict], tuple]:
    """A row's values in the statement's order, as a tuple built in C by itemgetter (a generator per row was a
    sixth of a bulk load's inserts)."""
    if len(columns) == 1:
        return lambda row: (row[columns[0]],)
    return itemgetter(*columns)


def insert_ignoring_duplicates(connection: Connection, table):
    """An INSERT that skips rows whose key exists already, in the connection's dialect."""
    dialect_insert = sqlite_insert if connection.dialect.name == "sqlite" else postgresql_insert
    return dialect_insert(table).on_conflict_do_nothing()
