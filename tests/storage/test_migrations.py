"""The Alembic migrations build exactly the schema that storage/tables.py describes."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from fhir_server.storage.database import migrate
from fhir_server.storage.tables import metadata


def test_migrated_schema_matches_the_table_definitions(database_url):
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), metadata)
    engine.dispose()
    assert differences == []


def test_migrating_twice_is_harmless(database_url):
    migrate(database_url)
    migrate(database_url)
