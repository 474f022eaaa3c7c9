"""The indexes a large import drops and builds again: built exactly as the schema declares them, by the import's
end or by `init-db` after a killed one, the per-resource ones also by the first write that needs them, and kept by
PostgreSQL when their tables cannot be locked."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy

from fhir_server.storage import value_indexes
from fhir_server.storage.database import Database, migrate
from fhir_server.storage.tables import INDEX_TABLES


@pytest.fixture
def database(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


def _definitions(database: Database) -> dict[str, str]:
    """Each index of the index tables as the database itself describes it."""
    query = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index'" if database.is_sqlite else \
        "SELECT indexname, tablename, indexdef FROM pg_indexes"
    with database.read() as connection:
        return {name: sql for name, table, sql in connection.exec_driver_sql(query) if table in INDEX_TABLES}


def test_the_value_and_per_resource_indexes_are_every_index_of_the_index_tables():
    declared = {index.name for table in INDEX_TABLES.values() for index in table.indexes}
    per_resource = {f"ix_{name}_resource" for name in INDEX_TABLES}
    assert {index.name for index in value_indexes.PER_RESOURCE_INDEXES} == per_resource
    assert {index.name for index in value_indexes.VALUE_INDEXES} == declared - per_resource


@pytest.mark.parametrize("per_resource", [False, True], ids=["value-indexes", "and-per-resource-indexes"])
def test_dropped_indexes_are_built_again_as_migrations_made_them(database, per_resource):
    migrated = _definitions(database)
    assert value_indexes.drop(database, per_resource=per_resource)
    per_resource_names = {f"ix_{name}_resource" for name in INDEX_TABLES}
    assert {index.name for index in value_indexes.missing(database)} == \
           {index.name for index in value_indexes.VALUE_INDEXES} | (per_resource_names if per_resource else set())
    assert set(_definitions(database)) == (set() if per_resource else per_resource_names)
    value_indexes.build(database)
    assert value_indexes.missing(database) == []
    assert _definitions(database) == migrated


def test_a_write_about_to_delete_rows_builds_the_per_resource_indexes_this_process_dropped(database):
    migrated = _definitions(database)
    value_indexes.drop(database, per_resource=True)
    with database.write() as connection:
        value_indexes.ensure_per_resource(connection)
    assert {index.name for index in value_indexes.missing(database)} == \
           {index.name for index in value_indexes.VALUE_INDEXES}
    value_indexes.build(database)
    assert _definitions(database) == migrated


def test_indexes_another_process_dropped_are_left_to_the_end_of_its_load(database):
    """This process did not drop them: it does not know, and its writes are right without them, only slower."""
    with database.write() as connection:
        for index in value_indexes.PER_RESOURCE_INDEXES:
            index.drop(connection)
        value_indexes.ensure_per_resource(connection)
    assert len(value_indexes.missing(database)) == len(value_indexes.PER_RESOURCE_INDEXES)
    value_indexes.build(database)


def test_init_db_builds_the_value_indexes_a_killed_import_left_dropped(database, database_url):
    migrated = _definitions(database)
    value_indexes.drop(database)
    migrate(database_url)
    assert _definitions(database) == migrated


def test_postgresql_keeps_the_value_indexes_when_a_transaction_holds_their_table(postgres, database, database_url):
    if database.is_sqlite:
        pytest.skip("SQLite serializes writers: a drop waits for the one writer, never for readers")
    engine = sqlalchemy.create_engine(database_url)
    holding, release = threading.Event(), threading.Event()

    def hold_a_lock():
        with engine.connect() as connection, connection.begin():
            connection.exec_driver_sql("LOCK TABLE search_token IN ACCESS SHARE MODE")
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold_a_lock)
    holder.start()
    try:
        assert holding.wait(10)
        assert value_indexes.drop(database) is False
        assert value_indexes.missing(database) == []
    finally:
        release.set()
        holder.join()
        engine.dispose()
