"""The database engine: SQLite's write-ahead log stays bounded under writers that never pause, and errors do not
carry patient data into the logs."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from fhir_server.storage import database as database_module
from fhir_server.storage.database import Database


def _write_rows(database: Database, count: int) -> None:
    for _ in range(count):
        with database.write() as connection:
            connection.exec_driver_sql("INSERT INTO filler (payload) VALUES (randomblob(20000))")


def test_past_its_limit_the_wal_is_truncated_after_a_commit_even_while_another_process_writes(tmp_path, monkeypatch):
    path = tmp_path / "fhir.sqlite"
    database = Database(f"sqlite:///{path}")
    with database.write() as connection:
        connection.exec_driver_sql("CREATE TABLE filler (payload BLOB)")
    other = Database(f"sqlite:///{path}")  # a second writer, as a second server process would be
    monkeypatch.setattr(database_module, "WAL_LIMIT_BYTES", 256 * 2**10)
    writer = threading.Thread(target=_write_rows, args=(other, 200))
    writer.start()
    largest = 0
    for _ in range(200):
        _write_rows(database, 1)
        largest = max(largest, path.with_name("fhir.sqlite-wal").stat().st_size)
    writer.join()
    # 400 commits of 20 kB: SQLite's automatic checkpoint alone lets the WAL reach 4 MB (1,000 pages) at least,
    # and more when the other writer keeps a transaction open; the limit keeps it near 256 kB.
    assert largest < 1.5 * 2**20
    with database.write() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM filler").scalar() == 400
    database.dispose()
    other.dispose()


def test_a_database_error_does_not_carry_the_values_it_was_given(database_url):
    database = Database(database_url)
    with database.write() as connection:
        connection.execute(text("CREATE TABLE patients_seen (name VARCHAR(40) PRIMARY KEY)"))
    secret = "김민준 1980-01-01"
    with pytest.raises(IntegrityError) as caught:
        with database.write() as connection:
            connection.execute(text("INSERT INTO patients_seen (name) VALUES (:name), (:name)"), {"name": secret})
    assert secret not in str(caught.value)  # errors are logged: patient data must not be in them
    database.dispose()
