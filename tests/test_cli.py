"""The `fhir-server` command: init-db, load, import and serve, run as a user would."""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _cli(*args, env):
    return subprocess.run([sys.executable, "-m", "fhir_server.cli", *args], env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture
def environment(database_url, tmp_path):
    return {**os.environ, "FHIR_SERVER_DATABASE_URL": database_url, "FHIR_SERVER_LOG_LEVEL": "WARNING",
            "FHIR_SERVER_TERMINOLOGY_FOLDER": str(tmp_path / "terminology")}


def test_init_db_and_load_bundles_idempotently(environment, tmp_path):
    subprocess.run([sys.executable, str(ROOT / "bench" / "synthetic.py"), "--patients", "3", "--seed", "5",
                    "--ids", "stable", "--out", str(tmp_path)], check=True, capture_output=True)
    assert _cli("init-db", env=environment).returncode == 0
    first = _cli("load", str(tmp_path), env=environment)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "201 Created" in first.stdout
    second = _cli("load", str(tmp_path), env=environment)
    # "201 Created", not "201": the output names the files, and pytest's folder may be pytest-201.
    assert second.returncode == 0 and "201 Created" not in second.stdout and "200 OK" in second.stdout


def test_load_reports_a_broken_file_and_fails(environment, tmp_path):
    (tmp_path / "broken.json").write_text("{not json")
    result = _cli("load", str(tmp_path / "broken.json"), env=environment)
    assert result.returncode == 1 and "400" in result.stdout


@pytest.mark.parametrize("command", [("serve",), ("load", "resource.json"), ("export", "out"), ("cohort", "log")])
def test_a_command_on_a_database_nobody_initialized_says_to_run_init_db(tmp_path, command):
    environment = {**os.environ, "FHIR_SERVER_DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite"}
    result = _cli(*command, env=environment)
    assert result.returncode == 2
    assert f"fhir-server {command[0]}: the database at sqlite:///{tmp_path}/empty.sqlite has no schema yet: run " \
           "`fhir-server init-db` first" in result.stderr
    assert "Traceback" not in result.stderr and "SELECT" not in result.stderr


def test_a_command_on_an_older_schema_says_to_upgrade_and_on_a_newer_one_says_so(tmp_path):
    from alembic import command

    from fhir_server.storage.database import Database, alembic_config

    url = f"sqlite:///{tmp_path}/old.sqlite"
    Database(url).dispose()
    command.upgrade(alembic_config(url), "0011")
    environment = {**os.environ, "FHIR_SERVER_DATABASE_URL": url, "FHIR_SERVER_LOG_LEVEL": "WARNING"}
    older = _cli("export", str(tmp_path / "out"), env=environment)
    assert older.returncode == 2 and "has schema revision 0011, older than this version needs" in older.stderr
    assert "run `fhir-server init-db` to upgrade it" in older.stderr
    assert _cli("init-db", env=environment).returncode == 0
    assert _cli("export", str(tmp_path / "out"), env=environment).returncode == 0
    with sqlite3.connect(tmp_path / "old.sqlite") as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    newer = _cli("export", str(tmp_path / "out"), env=environment)
    assert newer.returncode == 2
    assert "has schema revision 0099, which a newer version of fhir-server made" in newer.stderr


def test_an_unreachable_database_is_named_without_its_password(tmp_path):
    nobody_listens = f"postgresql+psycopg://reader:secret@127.0.0.1:{_free_port()}/fhir"
    for command in (("export", str(tmp_path / "out")), ("init-db",)):
        result = _cli(*command, env={**os.environ, "FHIR_SERVER_DATABASE_URL": nobody_listens})
        assert result.returncode == 2
        assert f"fhir-server {command[0]}: cannot open the database at postgresql+psycopg://reader:***@127.0.0.1" \
               in result.stderr
        assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_a_dry_run_import_needs_no_database(tmp_path):
    environment = {**os.environ, "FHIR_SERVER_DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite"}
    golden = ROOT / "tests" / "data" / "mappers" / "korean-hospital"
    result = _cli("import", "tabular", str(golden), "--spec", "korean-hospital", "--dry-run", env=environment)
    assert result.returncode == 0, result.stderr
    assert "dry run: read 10, mapped 10, rejected 0" in result.stdout


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_answers_fhir_over_http_with_several_workers(environment):
    port = _free_port()
    environment = {**environment, "FHIR_SERVER_SHUTDOWN_TIMEOUT_SECONDS": "5"}
    server = subprocess.Popen([sys.executable, "-m", "fhir_server.cli", "serve", "--port", str(port), "--workers", "2"],
                              env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/fhir"
        assert _capability_statement_once_serving(base)["resourceType"] == "CapabilityStatement"
        request = urllib.request.Request(f"{base}/Patient", data=json.dumps({"resourceType": "Patient"}).encode(),
                                         headers={"Content-Type": "application/fhir+json"}, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201
            location = response.headers["Location"]
        assert location.startswith(f"{base}/Patient/")
        with urllib.request.urlopen(location.rsplit("/_history", 1)[0], timeout=10) as response:
            assert json.load(response)["resourceType"] == "Patient"
        assert len(_children(server.pid)) == 2, "one process per worker"
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=60)
    assert server.returncode == 0


def _capability_statement_once_serving(base: str) -> dict:
    """Polls the server's /metadata until it answers (60 s at most)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"{base}/metadata", timeout=5) as response:
                return json.load(response)
        except OSError:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)


def _children(pid: int) -> list[str]:
    return [child for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()]


def test_importing_the_command_loads_neither_the_database_layer_nor_the_web_stack():
    # A bulk load's validation worker imports the main module of the process that started it again (multiprocessing
    # does), here `fhir-server`'s: with SQLAlchemy and the token library that was 0.45 s before each worker's first batch.
    loaded = subprocess.run([sys.executable, "-c", "import sys, fhir_server.cli; print(sorted(name for name in "
                             "('sqlalchemy', 'flask', 'jwt', 'cryptography', 'elasticsearch') if name in sys.modules))"],
                            capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert loaded.strip() == "[]"


def test_settings_command_lists_variables(environment):
    result = _cli("settings", env=environment)
    assert "FHIR_SERVER_DATABASE_URL" in result.stdout


def test_load_single_resources_then_reindex(environment, tmp_path):
    initialized = _cli("init-db", env=environment)
    assert initialized.returncode == 0
    # ICD-10 and ORPHAcode CodeSystems, four cohort ValueSets, two ConceptMaps (no KCD loaded)
    published = initialized.stdout.count("published CodeSystem/") + initialized.stdout.count("published ValueSet/") \
        + initialized.stdout.count("published ConceptMap/")
    assert published == 2 + 4 + 2, initialized.stdout
    assert _cli("init-db", env=environment).stdout.count("published ") == 0, "unchanged: nothing published again"
    kr_core = ROOT / "tests" / "data" / "kr-core"
    loaded = _cli("load", str(kr_core), env=environment)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert loaded.stdout.count(": 201") == len(list(kr_core.glob("*.json")))
    reindexed = _cli("reindex", env=environment)
    assert reindexed.returncode == 0, reindexed.stderr
    assert reindexed.stdout.strip().endswith(f"{len(list(kr_core.glob('*.json'))) + published} resources reindexed")


def test_load_terminology_converts_reports_rejects_and_publishes(environment, tmp_path):
    source = tmp_path / "kcd.csv"
    source.write_bytes("코드,한글명,영문명\nC50.91,상세불명 유방의 악성 신생물 우측,Right breast\n5O9,잘못된 코드,Bad\n"
                       .encode("cp949"))
    assert _cli("init-db", env=environment).returncode == 0
    loaded = _cli("load-terminology", "kcd", str(source), env=environment)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "rejected line 3: `5O9` is not a KCD code" in loaded.stderr
    assert "published closure of http://www.hl7korea.or.kr/CodeSystem/kostat-kcd-8" in loaded.stdout
    assert "published CodeSystem/kcd (201)" in loaded.stdout
    assert "published ConceptMap/kcd-to-icd-10 (201)" in loaded.stdout
    missing = _cli("load-terminology", "loinc", str(tmp_path / "nowhere"), env=environment)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    wrong = _cli("load-terminology", "snomed-ct", str(tmp_path), env=environment)
    assert wrong.returncode == 2 and "sct2_Concept_Snapshot" in wrong.stderr


def test_import_exits_0_1_or_2_and_writes_the_rejects(environment, tmp_path):
    golden = ROOT / "tests" / "data" / "mappers" / "korean-hospital"
    assert _cli("init-db", env=environment).returncode == 0
    clean = _cli("import", "tabular", str(golden), "--spec", "korean-hospital", env=environment)
    assert clean.returncode == 0, clean.stderr
    assert "read 10, mapped 10, rejected 0; resources created 10, updated 0, unchanged 0" in clean.stdout
    export = tmp_path / "export"
    shutil.copytree(golden, export)
    (export / "patients.csv").write_bytes((golden / "patients.csv").read_bytes() + "00000002,이도윤,남,19680230,,,,\r\n"
                                          .encode("cp949"))
    rejects = tmp_path / "rejects.ndjson"
    partial = _cli("import", "tabular", str(export), "--spec", "korean-hospital", "--rejects", str(rejects),
                   env=environment)
    assert partial.returncode == 1, partial.stderr
    assert "read 11, mapped 10, rejected 1; resources created 0, updated 0, unchanged 10" in partial.stdout
    assert json.loads(rejects.read_text(encoding="utf-8")) == {
        "source": {"file": "patients.csv", "line": 3}, "field": "생년월일",
        "reason": "`19680230` is not a date in the format `%Y%m%d`"}
    unusable = _cli("import", "tabular", str(tmp_path / "nowhere"), "--spec", "korean-hospital", env=environment)
    assert unusable.returncode == 2 and "is not a folder" in unusable.stderr and "Traceback" not in unusable.stderr
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text("name: x\nsource_system: urn:a:b\ntables: []\n")
    refused = _cli("import", "tabular", str(export), "--spec", str(bad_spec), env=environment)
    assert refused.returncode == 2 and "bad.yaml line 3: tables: Shorter than minimum length 1." in refused.stderr


def test_mllp_command_acknowledges_a_stored_message(environment):
    assert _cli("init-db", env=environment).returncode == 0
    port = _free_port()
    listener = subprocess.Popen([sys.executable, "-m", "fhir_server.cli", "mllp", "--port", str(port)],
                                env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    message = ("MSH|^~\\&|EMR|H|FHIR|H|20240305093000||ADT^A28|C1|P|2.5.1\r"
               "PID|1||77^^^H^MR||Kim^Minjun||19700101|M\r")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=30)
                break
            except OSError:
                assert time.monotonic() < deadline, "the listener did not start"
                time.sleep(0.2)
        with connection:
            connection.sendall(b"\x0b" + message.encode() + b"\x1c\r")
            answer = b""
            while not answer.endswith(b"\x1c\r"):
                answer += connection.recv(4096)
    finally:
        listener.send_signal(signal.SIGINT)
        listener.communicate(timeout=60)
    assert b"MSA|AA|C1" in answer


def test_import_ndjson_and_export_round_trip(environment, tmp_path):
    assert _cli("init-db", env=environment).returncode == 0
    source = tmp_path / "source"
    source.mkdir()
    patients = [{"resourceType": "Patient", "id": f"p{number}", "gender": "female"} for number in range(3)]
    observations = [{"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "x"},
                     "subject": {"reference": "Patient/p1"}}]
    (source / "Patient.ndjson").write_text("".join(json.dumps(patient) + "\n" for patient in patients))
    (source / "Observation.ndjson").write_text(json.dumps(observations[0]) + "\n{broken\n")
    imported = _cli("import", "ndjson", str(source), "--rejects", str(tmp_path / "rejects.ndjson"), env=environment)
    assert imported.returncode == 1, imported.stderr
    assert "read 5, mapped 4, rejected 1; resources created 4, updated 0, unchanged 0" in imported.stdout
    assert json.loads((tmp_path / "rejects.ndjson").read_text())["source"] == {"file": "Observation.ndjson", "line": 2}
    exported = _cli("export", str(tmp_path / "out"), "--type", "Patient,Observation", env=environment)
    assert exported.returncode == 0, exported.stderr
    assert "4 resources exported" in exported.stdout
    written = sorted(json.loads(line)["id"] for path in (tmp_path / "out").glob("*.ndjson")
                     for line in path.read_text().splitlines())
    assert written == ["o1", "p0", "p1", "p2"]
    patient_only = _cli("export", str(tmp_path / "out2"), "--patients", "--type-filter", "Patient?_id=p1",
                        env=environment)
    assert patient_only.returncode == 0, patient_only.stderr
    assert sorted(path.name for path in (tmp_path / "out2").iterdir()) == ["Observation-1.ndjson", "Patient-1.ndjson"]
    refused = _cli("export", str(tmp_path / "out3"), "--type", "Spaceship", env=environment)
    assert refused.returncode == 2 and "`Spaceship`" in refused.stderr and "Traceback" not in refused.stderr


def test_serve_refuses_to_listen_beyond_loopback_with_authentication_off(environment):
    result = _cli("serve", "--host", "0.0.0.0", "--port", str(_free_port()), env=environment)
    assert result.returncode != 0
    assert "authentication off" in result.stderr


def test_with_authentication_on_a_token_from_the_token_command_opens_the_api(environment, tmp_path):
    port = _free_port()
    environment = {**environment, "FHIR_SERVER_AUTH": "on", "FHIR_SERVER_AUTH_DEV_KEY": str(tmp_path / "dev.pem"),
                   "FHIR_SERVER_SHUTDOWN_TIMEOUT_SECONDS": "5", "FHIR_SERVER_PORT": str(port)}
    minted = _cli("token", "--scope", "user/*.cruds", "--role", "integrator", env=environment)
    assert minted.returncode == 0, minted.stderr
    token = minted.stdout.strip()
    server = subprocess.Popen([sys.executable, "-m", "fhir_server.cli", "serve", "--workers", "1"],
                              env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/fhir"
        _capability_statement_once_serving(base)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{base}/Patient", timeout=10)
        assert refused.value.code == 401 and refused.value.headers["WWW-Authenticate"] == "Bearer"
        request = urllib.request.Request(f"{base}/Patient", headers={"Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response)["resourceType"] == "Bundle"
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert token.encode() not in output  # nothing logs the token
