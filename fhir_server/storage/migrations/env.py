"""Alembic environment: runs the migrations in ``versions/`` against the configured URL."""

from alembic import context
from sqlalchemy import create_engine, pool

from fhir_server.storage.tables import metadata

url = context.config.get_main_option("sqlalchemy.url")
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
