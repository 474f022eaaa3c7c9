"""A real server process over the synthetic hospital, signing in through a test authorization server, and
headless Chromium (Debian's package) driven by Playwright."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fhir_server.security import dev_key
from tests.loopback import free_port, serve, stop
from tests.web.authorization_server import AuthorizationServer

CHROMIUM = Path("/usr/bin/chromium")
# Without these, Chromium keeps trying to reach Google's services, which a closed network refuses.
CHROMIUM_ARGUMENTS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                      "--disable-sync", "--no-first-run", "--disable-quic"]


class Server:
    def __init__(self, folder: Path, environment: dict):
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.key = folder / "dev.pem"
        self.environment = {**os.environ, **environment, "FHIR_SERVER_PORT": str(self.port),
                            "FHIR_SERVER_AUTH_DEV_KEY": str(self.key), "FHIR_SERVER_LOG_LEVEL": "WARNING",
                            "FHIR_SERVER_SHUTDOWN_TIMEOUT_SECONDS": "5"}

    def token(self, *roles: str, scopes: str = "user/*.rs", subject: str = "tester") -> str:
        return dev_key.mint(self.key, audience=f"{self.url}/fhir", scopes=scopes, roles=roles, subject=subject)

    def command(self, *arguments: str) -> None:
        subprocess.run([sys.executable, "-m", "fhir_server.cli", *arguments], env=self.environment, check=True,
                       capture_output=True)

    def __enter__(self):
        self.process = serve(self.environment)
        return self

    def __exit__(self, *_):
        stop(self.process)


@pytest.fixture(scope="module")
def authorization(tmp_path_factory):
    folder = tmp_path_factory.mktemp("authorization")
    with AuthorizationServer(folder / "jwks.json", "fhir-server-web", "researcher-kim", ("researcher",)) as server:
        server.jwks = folder / "jwks.json"
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory, hospital_sqlite, authorization):
    """Hospital alpha: the 400-patient hospital, with the KCD names its codes use, authentication on, noise of
    scale 1e-9 so that released counts can be compared with brute force, and one federation peer."""
    from population import hospital
    from terminology.systems import icd10

    folder = tmp_path_factory.mktemp("web")
    classification = icd10.load()
    hospital.write_kcd(folder / "kcd", lambda code: getattr(classification.get(code), "display", None))
    hospitals = {}
    for name in ("beta", "alpha"):  # beta, a federation peer holding the same patients, answers alpha's questions
        shutil.copy(hospital_sqlite, folder / f"{name}.sqlite")
        hospitals[name] = Server(folder / name, {
            "FHIR_SERVER_DATABASE_URL": f"sqlite:///{folder / name}.sqlite", "FHIR_SERVER_HOSPITAL_NAME": name,
            "FHIR_SERVER_TERMINOLOGY_FOLDER": str(folder / name / "terminology"),
            "FHIR_SERVER_IMPORTS_FOLDER": str(folder / name / "imports"),
            "FHIR_SERVER_COHORT_NOISE_KEY_FILE": str(folder / name / "noise.key"),
            "FHIR_SERVER_COHORT_EPSILON": "1e9", "FHIR_SERVER_COHORT_BUDGET": "1e12",
            "FHIR_SERVER_AUTH": "on", "FHIR_SERVER_AUTH_ISSUERS": authorization.url,
            "FHIR_SERVER_AUTH_JWKS": str(authorization.jwks),
            "FHIR_SERVER_AUTH_AUTHORIZATION_ENDPOINT": f"{authorization.url}/authorize",
            "FHIR_SERVER_AUTH_TOKEN_ENDPOINT": f"{authorization.url}/token"})
        hospitals[name].command("load-terminology", "kcd", str(folder / "kcd" / "kcd.csv"))
    beta, alpha = hospitals["beta"], hospitals["alpha"]
    (folder / "beta.token").write_text(beta.token("researcher", subject="alpha"))
    (folder / "peers.json").write_text(json.dumps({"peers": [
        {"name": "beta", "url": f"{beta.url}/fhir", "tokenFile": str(folder / "beta.token")}]}))
    alpha.environment["FHIR_SERVER_FEDERATION_PEERS"] = str(folder / "peers.json")
    with beta, alpha:
        yield alpha


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), "Debian's chromium package is missing: run `make test` (scripts/ensure-chromium.sh)"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGUMENTS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert not errors, errors  # a script error is a failure, whatever the assertions saw
