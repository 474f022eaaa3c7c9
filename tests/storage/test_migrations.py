"""The Alembic migrations build exactly the schema that storage/tables.py describes."""

import importlib.util
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, insert, select

from fhir_server import resources
from fhir_server.definitions import r4
from fhir_server.search.parameters import Registry, unions
from fhir_server import storage
from fhir_server.storage.database import Database, alembic_config, migrate
from fhir_server.storage.tables import metadata, multiple_values


def test_migrated_schema_matches_the_table_definitions(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_migrating_twice_is_harmless(database_url):
    migrate(database_url)
    migrate(database_url)


def _migration(name: str):
    path = Path(storage.__file__).parent / "migrations" / "versions" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _database_at(tmp_path, revision: str):
    """A SQLite database migrated up to ``revision`` only: its URL and an engine on it."""
    url = f"sqlite:///{tmp_path}/old.sqlite"
    Database(url).dispose()
    command.upgrade(alembic_config(url), revision)
    return url, create_engine(url)


def test_the_union_parameters_rows_are_deleted_and_no_others(tmp_path):
    url, engine = _database_at(tmp_path, "0011")
    rows = [("search_token", "combo-code"), ("search_token", "code"), ("search_token", "component-code"),
            ("search_quantity", "combo-value-quantity"), ("search_quantity", "value-quantity"),
            ("search_composite", "combo-code-value-quantity"), ("search_composite", "combo-code:of-type"),
            ("search_composite", "code-value-quantity")]
    with engine.begin() as connection:
        for table, param in rows:
            connection.execute(insert(metadata.tables[table]).values(
                resource_type="Observation", resource_id="o1", param=param,
                **({"value": 1.0} if table == "search_quantity" else {})))
        connection.execute(insert(multiple_values).values(index_table="search_token", resource_type="Observation",
                                                          param="combo-code"))
    migrate(url)
    with engine.connect() as connection:
        left = {(table, param) for table in ("search_token", "search_quantity", "search_composite")
                for param in connection.execute(select(metadata.tables[table].c.param)).scalars()}
        recorded = connection.execute(select(multiple_values)).all()
    engine.dispose()
    assert left == {("search_token", "code"), ("search_token", "component-code"),
                    ("search_quantity", "value-quantity"), ("search_composite", "code-value-quantity")}
    assert recorded == []


def test_the_union_migration_deletes_the_parameters_search_treats_as_unions():
    types = resources.supported_resource_types()
    registry = Registry(r4()["searchParameters"], types)
    found = {code for resource_type in types for code in unions(registry.for_type(resource_type), resource_type)}
    tokens = {code for code in found if registry.get("Observation", code).type == "token"}
    assert set(_migration("0012_union_parameters").PARAMS) == found | {f"{code}:of-type" for code in tokens}


def test_the_last_updated_rows_are_deleted_and_no_others(tmp_path):
    url, engine = _database_at(tmp_path, "0012")
    search_date = metadata.tables["search_date"]
    with engine.begin() as connection:
        for param in ("_lastUpdated", "date", "birthdate"):
            connection.execute(insert(search_date).values(resource_type="Patient", resource_id="p1", param=param,
                                                          low=1, high=2))
        for param in ("_lastUpdated", "date"):
            connection.execute(insert(multiple_values).values(index_table="search_date", resource_type="Patient",
                                                              param=param))
    migrate(url)
    with engine.connect() as connection:
        left = set(connection.execute(select(search_date.c.param)).scalars())
        recorded = set(connection.execute(select(multiple_values.c.param)).scalars())
    engine.dispose()
    assert left == {"date", "birthdate"} and recorded == {"date"}


@pytest.mark.parametrize("left_dropped_by_an_import", [False, True])
def test_the_reference_target_index_goes_and_the_rows_stay(tmp_path, left_dropped_by_an_import):
    url, engine = _database_at(tmp_path, "0013")
    search_reference = metadata.tables["search_reference"]
    with engine.begin() as connection:
        if left_dropped_by_an_import:
            connection.exec_driver_sql("DROP INDEX ix_search_reference_target")
        connection.execute(insert(search_reference).values(resource_type="Observation", resource_id="o1",
                                                           param="subject", target_type="Patient", target_id="p1"))
    migrate(url)
    with engine.connect() as connection:
        indexes = set(connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'search_reference'").scalars())
        left = connection.execute(select(search_reference.c.target_id)).scalars().all()
    engine.dispose()
    assert "ix_search_reference_target" not in indexes and "ix_search_reference_value" in indexes
    assert left == ["p1"]
