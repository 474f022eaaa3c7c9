"""Engines for SQLite (WAL, one writer at a time) and PostgreSQL, and schema migration.

SQLite: writers start with ``BEGIN IMMEDIATE`` so two processes never both hold a read lock
and then deadlock upgrading it; readers run in autocommit and never block in WAL mode.
"""

from __future__ import annotations

from contextlib import contextmanager
from importlib import resources as package_files
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, create_engine, event
from sqlalchemy.engine import Engine, make_url

WRITE_OPTION = "fhir_write"
# SQLite's automatic checkpoints can copy the WAL back but restart it only when no transaction is open; writers
# that never pause (a bulk load from two processes) left it growing to 11 GB over five million resources. Past
# this size the writer that just committed waits for a moment without readers and truncates it.
WAL_LIMIT_BYTES = 256 * 2**20


class Database:
    """An engine plus read and write transactions with the right locking for its dialect."""

    def __init__(self, url: str, *, sqlite_busy_timeout_ms: int = 30_000, sqlite_synchronous: str = "FULL"):
        # Every engine hides bound parameters from its errors: they hold patient data, and errors get logged.
        self.url = make_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        if self.is_sqlite:
            _create_sqlite_directory(self.url.database)
            self.engine = create_engine(self.url, connect_args={"check_same_thread": False}, hide_parameters=True)
            _configure_sqlite(self.engine, sqlite_busy_timeout_ms, sqlite_synchronous)
            self._wal = Path(f"{self.url.database}-wal") if _is_file(self.url.database) else None
        else:
            # psycopg prepares a statement after five runs, and PostgreSQL then switches to a generic plan
            # that ignores the searched values: a common code's first page went from 5 ms to 800 ms at
            # 500,000 resources. Search selectivity depends on the values, so always plan with them.
            self.engine = create_engine(self.url, pool_size=8, max_overflow=8, pool_pre_ping=True, hide_parameters=True,
                                        connect_args={"options": "-c plan_cache_mode=force_custom_plan"})
            event.listen(self.engine, "handle_error", _keep_only_the_primary_message)
            self._wal = None

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            with connection.begin():
                yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: True})
            with connection.begin():
                yield connection
            if self._wal is not None and self._wal.exists() and self._wal.stat().st_size > WAL_LIMIT_BYTES:
                # On the driver's connection, which is in autocommit: a checkpoint cannot run in a transaction.
                connection.connection.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def analyze(self) -> None:
        """Refresh the planner's statistics, as after a large load: without them PostgreSQL and SQLite
        can pick plans that scan instead of using the index tables' indexes."""
        if self.is_sqlite:
            with self.write() as connection:
                connection.exec_driver_sql("PRAGMA analysis_limit=1000")  # sampled: seconds, not minutes, at scale
                connection.exec_driver_sql("ANALYZE")
            return
        # VACUUM also marks pages all-visible, which PostgreSQL's index-only scans need; it refuses transactions.
        with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM ANALYZE")

    def dispose(self) -> None:
        self.engine.dispose()


def _is_file(database: str | None) -> bool:
    return bool(database) and database != ":memory:" and not database.startswith("file:")


def _create_sqlite_directory(database: str | None) -> None:
    if _is_file(database):
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int, synchronous: str) -> None:
    synchronous = synchronous.upper()
    if synchronous not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"SQLite synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}")
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # Let SQLAlchemy's begin event, not the driver, decide when transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute(f"PRAGMA synchronous = {synchronous}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        # Readers issue no BEGIN: each of their statements is atomic on its own in WAL mode, and the
        # extra round trip costs a fifth of a read. Reads that need one snapshot over several
        # statements run inside a write session.
        if connection.get_execution_options().get(WRITE_OPTION, False):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _keep_only_the_primary_message(context) -> None:
    # PostgreSQL's DETAIL repeats the offending values ("Key (name)=(...) already exists"): patient data
    # in every logged integrity error. The primary message names the constraint, which is enough to act on.
    error = context.original_exception
    primary = getattr(getattr(error, "diag", None), "message_primary", None)
    if primary:
        error.args = (primary,)
        wrapped = context.sqlalchemy_exception  # composed its message from the driver's before this hook ran
        wrapped.args = (f"({type(error).__module__}.{type(error).__name__}) {primary}",)


def alembic_config(url: str):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(package_files.files("fhir_server.storage") / "migrations"))
    # ConfigParser interpolation would choke on a percent sign in a password.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def connection_problem(url: str) -> str | None:
    """Why the database cannot be reached, in words for the operator; None when it can."""
    from sqlalchemy.exc import DBAPIError

    database = Database(url)
    try:
        with database.engine.connect():
            return None
    except DBAPIError as error:
        return _cannot_open(url, error)
    finally:
        database.dispose()


def _cannot_open(url: str, error) -> str:
    # The first line of the driver's reason (the rest is a hint or SQL), with the URL's password hidden.
    reason = str(error.orig).splitlines()[0]
    return f"cannot open the database at {make_url(url).render_as_string(hide_password=True)}: {reason}"


def schema_problem(url: str) -> str | None:
    """Why the database cannot be served as it is (unreachable, no schema, an older or a newer one), in words
    for the operator; None when its schema is the newest this code knows. Without this check, every command on a
    database nobody initialized failed with a stack trace and the SQL of its first query."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import DBAPIError

    shown = make_url(url).render_as_string(hide_password=True)
    database = Database(url)
    try:
        with database.engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except DBAPIError as error:
        return _cannot_open(url, error)
    finally:
        database.dispose()
    scripts = ScriptDirectory.from_config(alembic_config(url))
    if current == set(scripts.get_heads()):
        return None
    if not current:
        return f"the database at {shown} has no schema yet: run `fhir-server init-db` first"
    known = {script.revision for script in scripts.walk_revisions()}
    if not current <= known:
        return (f"the database at {shown} has schema revision {', '.join(sorted(current))}, which a newer version "
                f"of fhir-server made; this one knows up to {', '.join(scripts.get_heads())}")
    return (f"the database at {shown} has schema revision {', '.join(sorted(current))}, older than this version "
            f"needs ({', '.join(scripts.get_heads())}): run `fhir-server init-db` to upgrade it")


def migrate(url: str) -> None:
    """Bring the schema to the newest Alembic revision, its indexes all in place; safe to run on an up-to-date
    database."""
    from alembic import command

    from fhir_server.storage import value_indexes

    database = Database(url)  # creates the SQLite directory if needed
    try:
        command.upgrade(alembic_config(url), "head")
        value_indexes.build(database)  # missing if an import that had dropped them was killed
    finally:
        database.dispose()
