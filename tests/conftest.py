"""Fixtures: every app test runs against a fresh SQLite file and a fresh PostgreSQL database."""

from __future__ import annotations

import itertools
import os
import shutil

import pytest
import sqlalchemy

from fhir_server.app import build_context, create_app
from fhir_server.settings import Settings
from fhir_server.storage.database import migrate
from fhir_server.terminology_publish import publish_index
from terminology import registry
from terminology.normalize import Normalizer
from tests.postgres_cluster import PostgresCluster

_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres():
    cluster = PostgresCluster().start()
    engine = sqlalchemy.create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE DATABASE fhir_template")
    _initialize(cluster.url("fhir_template"))
    cluster.admin = engine
    yield cluster
    engine.dispose()
    cluster.stop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-template") / "fhir.sqlite"
    _initialize(f"sqlite:///{path}")
    return path


def _initialize(url: str) -> None:
    """What `fhir-server init-db` does, but the terminology's resources: tests count the resources they write."""
    migrate(url)
    context = build_context(Settings(database_url=url, terminology_folder="/nonexistent"))
    publish_index(context)
    context.repository.database.dispose()


def fresh_database(request, kind: str, folder):
    """Yields the URL of a migrated, empty database of ``kind``, dropped afterwards."""
    if kind == "sqlite":
        path = folder / f"fhir-{next(_numbers)}.sqlite"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    cluster = request.getfixturevalue("postgres")
    name = f"test_{next(_numbers)}"
    with cluster.admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE fhir_template")
    yield cluster.url(name)
    with cluster.admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A migrated, empty database of each kind, for one test."""
    yield from fresh_database(request, request.param, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request, tmp_path_factory):
    """A migrated, empty database of each kind shared by a module's tests that only read."""
    yield from fresh_database(request, request.param, tmp_path_factory.mktemp("module-db"))


@pytest.fixture(scope="session")
def elasticsearch():
    """The in-memory Elasticsearch emulator (tests/search/elasticsearch_emulator.py) on loopback."""
    from tests.search.elasticsearch_emulator import Emulator

    emulator = Emulator()
    yield emulator
    emulator.close()


@pytest.fixture(scope="session")
def elasticsearch_url(request):
    """An Elasticsearch endpoint: the real cluster FHIR_SERVER_ELASTICSEARCH_URL points at under
    `make test-es`, else the emulator."""
    return os.environ.get("FHIR_SERVER_ELASTICSEARCH_URL") or request.getfixturevalue("elasticsearch").url


def elasticsearch_settings(url: str) -> dict:
    """Settings of the Elasticsearch backend with indexes of their own (a fresh prefix)."""
    return {"search_backend": "elasticsearch", "elasticsearch_url": url,
            "elasticsearch_index_prefix": f"test{next(_numbers)}-{os.getpid()}-"}


def settings_for_backend(request, database_url: str) -> Settings:
    """The ``settings`` of a test module that runs on both search backends (``request.param``):
    Elasticsearch over SQLite only, since the database's kind does not change what the engine matches."""
    extra = {}
    if request.param == "elasticsearch":
        if not database_url.startswith("sqlite"):
            pytest.skip("Elasticsearch runs over the SQLite database")
        extra = elasticsearch_settings(request.getfixturevalue("elasticsearch_url"))
    return Settings(database_url=database_url, base_url="http://fhir.test/fhir", **extra)


@pytest.fixture
def settings(database_url) -> Settings:
    return Settings(database_url=database_url, base_url="http://fhir.test/fhir")


@pytest.fixture
def app(settings):
    app = create_app(settings)
    yield app
    close(app)


def close(app) -> None:
    """Stop what the app started: its outbox timer (with Elasticsearch) and its database connections."""
    repository = app.extensions["fhir"].repository
    if repository.outbox is not None:
        repository.outbox.stop()
    repository.database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def terminology():
    """The shipped terminology (ICD-10, Orphanet, copayment rules), without anything a deployer loads."""
    return registry.load()


@pytest.fixture(scope="session")
def normalizer(terminology):
    return Normalizer(terminology)


@pytest.fixture(scope="session")
def hospital_population(tmp_path_factory, normalizer):
    """A synthetic Korean hospital of 400 patients as FHIR resources (the population package), written as NDJSON:
    (the NDJSON folder, the resources)."""
    from population import fhir, hospital

    folder = tmp_path_factory.mktemp("hospital")
    hospital.write(400, 11, folder / "tabular")
    rejected: list = []
    made = list(fhir.resources(folder / "tabular", normalizer, rejected))
    assert not rejected
    fhir.write_ndjson(made, folder / "ndjson")
    return folder / "ndjson", made


def load_ndjson(settings: Settings, folder) -> None:
    """Store every resource of an NDJSON folder, as `fhir-server import ndjson` does."""
    from fhir_server.import_sources import open_source
    from fhir_server.importing import Importer
    from fhir_server.validation import Validator

    context = build_context(settings)
    summary = Importer(context, validator=Validator(1)).run(open_source("ndjson", folder, context).results)
    context.repository.database.dispose()
    assert summary.rejected == 0, summary


@pytest.fixture(scope="session")
def hospital_sqlite(tmp_path_factory, hospital_population, sqlite_template):
    """An SQLite file holding the hospital population; tests copy it, so each starts with an empty ledger."""
    path = tmp_path_factory.mktemp("hospital-db") / "hospital.sqlite"
    shutil.copy(sqlite_template, path)
    load_ndjson(Settings(database_url=f"sqlite:///{path}", terminology_folder="/nonexistent"), hospital_population[0])
    return path


@pytest.fixture(scope="session")
def hospital_oracle(hospital_population, terminology):
    """Brute force over the hospital population's raw resources (tests/cohorts/oracle.py)."""
    from terminology import valuesets
    from tests.cohorts.oracle import Population

    return Population(hospital_population[1], {value_set.url: value_set.members(terminology)
                                                for value_set in valuesets.COHORT_VALUE_SETS})


@pytest.fixture
def hospital_settings(hospital_sqlite, tmp_path) -> Settings:
    """Settings over a private copy of the hospital database, with a noise key of its own."""
    path = tmp_path / "hospital.sqlite"
    shutil.copy(hospital_sqlite, path)
    return Settings(database_url=f"sqlite:///{path}", terminology_folder="/nonexistent", base_url="http://fhir.test/fhir",
                    cohort_noise_key_file=str(tmp_path / "noise.key"))
