import shutil

import pytest

from fhir_server.app import create_app
from fhir_server.settings import Settings


@pytest.fixture
def make_client(sqlite_template, tmp_path):
    """A test client of an app on a fresh SQLite file, with the given settings: these are HTTP-level behaviours,
    the same whatever the database."""
    apps = []

    def make(**settings):
        path = tmp_path / f"fhir-{len(apps)}.sqlite"
        shutil.copy(sqlite_template, path)
        app = create_app(Settings(database_url=f"sqlite:///{path}", **settings))
        apps.append(app)
        return app.test_client()

    yield make
    for app in apps:
        app.extensions["fhir"].repository.database.dispose()


AUDIENCE = "http://fhir.test/fhir"


@pytest.fixture(scope="session")
def dev_key_path(tmp_path_factory):
    return tmp_path_factory.mktemp("keys") / "dev-signing-key.pem"


@pytest.fixture(scope="session")
def bearer(dev_key_path):
    """Authorization headers for a token with these scopes, patient and roles, signed by the development key."""
    from fhir_server.security import dev_key

    def headers(scopes: str, patient: str | None = None, roles: tuple[str, ...] = ()) -> dict:
        token = dev_key.mint(dev_key_path, audience=AUDIENCE, scopes=scopes, patient=patient, roles=roles)
        return {"Authorization": f"Bearer {token}"}

    return headers
