"""INSERTs of many rows at once, through the database driver."""

from __future__ import annotations

import functools
from operator import itemgetter
from typing import Callable

from sqlalchemy import Connection, bindparam, insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError

# Rows from which PostgreSQL gets them by COPY: with INSERTs a bulk load took about two thirds longer (2,000
# synthetic patients, 51,381 resources, `fhir-server import ndjson`: 36.4-40.9 s, 21.6-26.2 s with COPY).
COPY_FROM = 50
_insert_statements: dict[tuple, tuple[str, Callable[[dict], tuple] | None]] = {}


def insert_many(connection: Connection, table, rows: list[dict]) -> None:
    """Insert rows with the driver's executemany (many rows into PostgreSQL by COPY): SQLAlchemy's per-row
    parameter processing cost as much as the inserts themselves in a large transaction. Rows of one table share
    their keys."""
    columns = tuple(rows[0])
    if connection.dialect.name == "postgresql" and len(rows) >= COPY_FROM:
        _copy(connection, table, columns, rows)
        return
    columns = _with_values(table, columns, rows)
    key = (connection.dialect.name, table.name, columns)
    if key not in _insert_statements:
        compiled = insert(table).values({column: bindparam(column) for column in columns}).compile(
            dialect=connection.dialect)
        _insert_statements[key] = (str(compiled), _values_in_order(compiled.positiontup) if compiled.positional
                                   else None)
    sql, positional = _insert_statements[key]
    connection.exec_driver_sql(sql, list(map(positional, rows)) if positional else rows)


def _with_values(table, columns: tuple[str, ...], rows: list[dict]) -> tuple[str, ...]:
    """``columns`` but those that no row has a value in and that are NULL when left out. The sqlite3 module looks
    every None it binds up in its registry of adapters: a composite index row, 24 columns and most of them empty,
    took 12 us to insert with its Nones and 2.5 us without (the synthetic population's, into SQLite in memory)."""
    nullable = _nullable(table)
    return tuple(column for column in columns if column not in nullable or any(row[column] is not None for row in rows))


@functools.cache
def _nullable(table) -> frozenset[str]:
    return frozenset(column.name for column in table.columns
                     if column.nullable and column.default is None and column.server_default is None)


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


def _copy(connection: Connection, table, columns: tuple[str, ...], rows: list[dict]) -> None:
    """``COPY ... FROM STDIN`` in the connection's transaction, its errors raised as SQLAlchemy raises a statement's
    (an IntegrityError is one), with PostgreSQL's primary message only: its DETAIL repeats the values."""
    quote = connection.dialect.identifier_preparer.quote
    values = _values_in_order(list(columns))
    sql = f"COPY {quote(table.name)} ({', '.join(map(quote, columns))}) FROM STDIN"
    driver_error = connection.dialect.loaded_dbapi.Error
    try:
        with connection.connection.driver_connection.cursor() as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(values(row))
    except driver_error as error:
        primary = getattr(getattr(error, "diag", None), "message_primary", None)
        if primary:
            error.args = (primary,)
        raise DBAPIError.instance(sql, None, error, driver_error, hide_parameters=True,
                                  dialect=connection.dialect) from None
