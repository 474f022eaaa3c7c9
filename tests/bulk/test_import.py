"""Bulk `$import` of NDJSON through real HTTP: inputs from an allowed folder or URL, every line validated and
stored as any write is or rejected with its line, read = loaded + rejected, and the rejects as OperationOutcomes.

Expected counts come from the lines the test wrote."""

from __future__ import annotations

import http.server
import json
import threading
import time
from functools import partial

import pytest

from fhir_server import import_jobs
from fhir_server.app import create_app
from fhir_server.settings import Settings
from fhir_server.storage import import_jobs as stored_imports
from tests.fhir_client import assert_outcome

ASYNC = {"Prefer": "respond-async", "Content-Type": "application/fhir+json"}

PATIENTS = [
    {"resourceType": "Patient", "id": "kim", "gender": "female"},
    {"resourceType": "Patient", "id": "lee", "gender": "male"},
    {"resourceType": "Patient", "gender": "other"},  # no id: created with a new one
]
OBSERVATION_LINES = [
    '{"resourceType": "Observation", "id": "o1", "status": "final", "code": {"text": "HbA1c"}, '
    '"subject": {"reference": "Patient/kim"}, "valueQuantity": {"value": 6.50, "unit": "%"}}',
    "",  # a blank line is not a record
    '{"resourceType": "Observation", "id": "o2", "status": ',  # cut short
    json.dumps({"resourceType": "Observation", "id": "o3", "status": "final", "code": {"text": "x"}, "colour": "red"}),
    json.dumps({"resourceType": "Patient", "id": "stray"}),  # not the declared type
    json.dumps(["not", "a", "resource"]),
]


@pytest.fixture
def inputs(tmp_path):
    folder = tmp_path / "incoming"
    folder.mkdir()
    (folder / "Patient.ndjson").write_text("".join(json.dumps(patient) + "\n" for patient in PATIENTS))
    (folder / "Observation.ndjson").write_text("\n".join(OBSERVATION_LINES) + "\n")
    return folder


@pytest.fixture
def app(database_url, tmp_path, inputs):
    app = create_app(Settings(database_url=database_url, base_url="http://fhir.test/fhir",
                              imports_folder=str(tmp_path / "imports"), import_folders=str(inputs),
                              import_url_prefixes="http://127.0.0.1:"))
    yield app
    app.extensions["fhir"].repository.database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def _parameters(*inputs: tuple[str | None, str], **extra) -> str:
    parameter = [{"name": "inputFormat", "valueCode": "application/fhir+ndjson"}]
    for resource_type, url in inputs:
        parts = [{"name": "url", "valueUri": url}] + ([{"name": "type", "valueCode": resource_type}]
                                                       if resource_type else [])
        parameter.append({"name": "input", "part": parts})
    parameter += [{"name": name, "valueString": value} for name, value in extra.items()]
    return json.dumps({"resourceType": "Parameters", "parameter": parameter})


def _import(client, body: str) -> dict:
    response = client.post("/fhir/$import", data=body, headers=ASYNC)
    assert response.status_code == 202, response.get_data(as_text=True)
    status_url = response.headers["Content-Location"].removeprefix("http://fhir.test")
    deadline = time.monotonic() + 60
    while (status := client.get(status_url)).status_code == 202:
        assert "lines read" in status.headers["X-Progress"]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert status.status_code == 200, status.get_data(as_text=True)
    return status.get_json()


def test_import_stores_every_valid_line_and_rejects_the_others_with_their_line(client, inputs):
    manifest = _import(client, _parameters(("Patient", (inputs / "Patient.ndjson").as_uri()),
                                           ("Observation", (inputs / "Observation.ndjson").as_uri())))
    lines = len(PATIENTS) + len([line for line in OBSERVATION_LINES if line])
    assert manifest["summary"] == {"read": lines, "rejected": 4, "created": 4, "updated": 0, "unchanged": 0}
    assert manifest["request"] == "http://fhir.test/fhir/$import"
    assert client.get("/fhir/Patient/kim").get_json()["gender"] == "female"
    assert client.get("/fhir/Observation/o1").get_data().count(b"6.50") == 1  # the decimal as written
    assert client.get("/fhir/Patient?gender=other&_total=accurate").get_json()["total"] == 1
    (errors,) = manifest["error"]
    assert errors["count"] == 4
    outcomes = client.get(errors["url"].removeprefix("http://fhir.test"))
    assert outcomes.content_type == "application/fhir+ndjson"
    diagnostics = [json.loads(line)["issue"][0]["diagnostics"] for line in outcomes.get_data().splitlines()]
    url = (inputs / "Observation.ndjson").as_uri()
    assert [text.removeprefix(f"{url} ")[:34] for text in diagnostics] == [
        "line 3: The line is not valid JSON",
        "line 4: invalid Observation: Obser",
        "line 5: The line holds a `Patient`",
        "line 6: The line is not a FHIR res"]


def test_importing_the_same_files_again_changes_nothing(client, inputs):
    body = _parameters((None, (inputs / "Patient.ndjson").as_uri()))
    assert _import(client, body)["summary"]["created"] == 3
    again = _import(client, body)["summary"]
    # The patient without an id is created anew each time; those with ids are unchanged.
    assert (again["created"], again["unchanged"], again["rejected"]) == (1, 2, 0)


def test_import_downloads_from_an_allowed_url(client, inputs):
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(inputs))
    handler.log_message = lambda *args: None
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/Patient.ndjson"
        manifest = _import(client, _parameters(("Patient", url)))
        server.shutdown()
    assert manifest["summary"]["created"] == 3 and manifest["error"] == []


@pytest.mark.parametrize("body, headers, message", [
    (lambda inputs: _parameters(("Patient", (inputs / "Patient.ndjson").as_uri())), {"Content-Type": "application/fhir+json"},
     "Prefer: respond-async"),
    (lambda inputs: _parameters(("Patient", "file:///etc/passwd")), ASYNC, "not in a folder this server imports"),
    (lambda inputs: _parameters(("Patient", (inputs / "../incoming/../x.ndjson").as_uri())), ASYNC,
     "not in a folder"),
    (lambda inputs: _parameters(("Patient", (inputs / "Nothing.ndjson").as_uri())), ASYNC, "does not exist"),
    (lambda inputs: _parameters(("Patient", "https://elsewhere.example/p.ndjson")), ASYNC, "IMPORT_URL_PREFIXES"),
    (lambda inputs: _parameters(("Patient", "ftp://127.0.0.1/p.ndjson")), ASYNC, "file:, http: and https:"),
    (lambda inputs: _parameters(("Spaceship", (inputs / "Patient.ndjson").as_uri())), ASYNC, "`Spaceship`"),
    (lambda inputs: _parameters(), ASYNC, "at least one `input`"),
    (lambda inputs: _parameters(("Patient", (inputs / "Patient.ndjson").as_uri()), mode="fast"), ASYNC,
     "no parameter `mode`"),
    (lambda inputs: json.dumps({"resourceType": "Patient"}), ASYNC, "takes a Parameters resource"),
])
def test_an_import_that_cannot_be_honoured_is_refused_before_a_job_exists(client, inputs, body, headers, message):
    assert_outcome(client.post("/fhir/$import", data=body(inputs), headers=headers), 400, message)
    assert client.get("/import/jobs").get_json()["jobs"] == []


def test_an_import_job_is_listed_with_the_other_imports_and_can_be_cancelled(client, inputs):
    response = client.post("/fhir/$import", data=_parameters(("Patient", (inputs / "Patient.ndjson").as_uri())),
                           headers=ASYNC)
    status_url = response.headers["Content-Location"].removeprefix("http://fhir.test")
    (job,) = client.get("/import/jobs").get_json()["jobs"]
    assert job["format"] == "ndjson" and status_url.endswith(job["id"])
    assert client.delete(status_url).status_code == 202
    assert_outcome(client.get(status_url), 404)
    assert client.get("/import/jobs").get_json()["jobs"] == []
    for thread in threading.enumerate():  # it stops at its next batch; let it, before the database goes
        if thread.name == f"import-{job['id']}":
            thread.join(30)


def test_a_download_redirected_outside_the_allowed_urls_fails_the_job(client, inputs):
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data")
            self.end_headers()

        def log_message(self, *args):
            pass

    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        response = client.post("/fhir/$import", headers=ASYNC, data=_parameters(
            ("Patient", f"http://127.0.0.1:{server.server_address[1]}/Patient.ndjson")))
        status_url = response.headers["Content-Location"].removeprefix("http://fhir.test")
        deadline = time.monotonic() + 30
        while (status := client.get(status_url)).status_code == 202 and time.monotonic() < deadline:
            time.sleep(0.05)
        server.shutdown()
    assert_outcome(status, 500, "failed")
    (job,) = client.get("/import/jobs").get_json()["jobs"]
    assert job["state"] == "failed" and "169.254.169.254" in job["message"]


class _Crash(BaseException):
    """The server process dying: nothing in the import catches it."""


def _crashed_import(tmp_path, context, lines: list[str], crash_after: int) -> str:
    """A `$import` job whose worker died after reading ``crash_after`` records, as a stopped server leaves it:
    running, with the checkpoint it recorded last, its source, and a reject written after that checkpoint."""
    source = tmp_path / "big" / "Patient.ndjson"
    source.parent.mkdir()
    source.write_text("\n".join(lines) + "\n")
    inputs = [{"type": "Patient", "url": source.as_uri()}]
    import_jobs.folder(context, "crashed").mkdir(parents=True)
    stored_imports.create(context.repository.database, "crashed", "ndjson", {
        "inputs": inputs, "request": "http://fhir.test/fhir/$import", "requester": None}, owner="a worker that died")

    def dying():
        for number, result in enumerate(import_jobs._input_results(tmp_path / "unused", inputs, []), 1):
            if number > crash_after:
                raise _Crash()
            yield result

    with pytest.raises(_Crash):
        import_jobs._run(context, "crashed", dying(), "a worker that died", False, True, None)
    with import_jobs.rejects_path(context, "crashed").open("a") as rejects:
        rejects.write('{"source": {"file": "x", "line": 1}, "reason": "found after the checkpoint"}\n')
    return source.as_uri()


def _patients(count: int, bad: set[int]) -> list[str]:
    """``count`` patient lines with ids; the lines numbered in ``bad`` are cut short."""
    return ['{"resourceType": "Patient", "id": "p' if number in bad
            else json.dumps({"resourceType": "Patient", "id": f"p{number}", "gender": "female"})
            for number in range(1, count + 1)]


BAD_LINES = {10, 2500, 4400}  # one before the checkpoint, one in the batch that was not stored, one after
# Longer than a batch of 2,000 takes on a busy machine: a worker that records no checkpoint within the lease is
# taken for dead, and its job resumed by another.
LEASE = 5


def _check_resumed(summary: dict, outcomes: list[str], url: str, count: int) -> None:
    assert summary == {"read": count, "rejected": 3, "created": count - 3, "updated": 0, "unchanged": 0}
    assert [text.removeprefix(f"{url} ")[:29] for text in outcomes] == [
        f"line {number}: The line is not valid JSON"[:29] for number in sorted(BAD_LINES)]


def test_an_import_whose_server_stopped_resumes_from_its_checkpoint_when_asked_about(tmp_path, database_url,
                                                                                      inputs):
    app = create_app(Settings(database_url=database_url, base_url="http://fhir.test/fhir",
                              imports_folder=str(tmp_path / "imports"), import_folders=str(tmp_path / "big"),
                              bulk_job_lease_seconds=LEASE))
    context, client = app.extensions["fhir"], app.test_client()
    url = _crashed_import(tmp_path, context, _patients(4600, BAD_LINES), crash_after=4300)
    checkpoint = stored_imports.get(context.repository.database, "crashed").summary
    # The first batch of 2,000 was stored and recorded; the second was read and checked, not stored.
    assert (checkpoint["mapped"], checkpoint["rejected"], checkpoint["created"]) == (1999, 1, 1999)
    assert client.get("/fhir/Patient?_summary=count").get_json()["total"] == 1999
    time.sleep(LEASE + 0.1)  # the dead worker's lease runs out
    deadline = time.monotonic() + 60
    while (status := client.get("/fhir/bulk-status/crashed")).status_code == 202:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    manifest = status.get_json()
    outcomes = client.get(manifest["error"][0]["url"].removeprefix("http://fhir.test")).get_data().splitlines()
    _check_resumed(manifest["summary"], [json.loads(line)["issue"][0]["diagnostics"] for line in outcomes], url, 4600)
    assert client.get("/fhir/Patient?_summary=count").get_json()["total"] == 4597
    for id_ in ("p5", "p3000", "p4600"):  # before the checkpoint, read but not stored by the dead worker, after
        assert len(client.get(f"/fhir/Patient/{id_}/_history").get_json()["entry"]) == 1
    app.extensions["fhir"].repository.database.dispose()


def test_a_restarted_server_resumes_an_import_nobody_asks_about(tmp_path, database_url, inputs):
    settings = Settings(database_url=database_url, base_url="http://fhir.test/fhir", bulk_job_lease_seconds=LEASE,
                        imports_folder=str(tmp_path / "imports"), import_folders=str(tmp_path / "big"))
    stopped = create_app(settings)
    url = _crashed_import(tmp_path, stopped.extensions["fhir"], _patients(4600, BAD_LINES), crash_after=4300)
    stopped.extensions["fhir"].repository.database.dispose()
    restarted = create_app(settings)  # its timer takes the job over once the lease has run out
    database = restarted.extensions["fhir"].repository.database
    deadline = time.monotonic() + 60
    while (job := stored_imports.get(database, "crashed")).state == "running":
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert job.state == "completed" and job.owner != "a worker that died"
    outcomes = import_jobs.outcomes_path(restarted.extensions["fhir"], "crashed").read_bytes().splitlines()
    _check_resumed({key: job.summary[key] for key in ("read", "rejected", "created", "updated", "unchanged")},
                   [json.loads(line)["issue"][0]["diagnostics"] for line in outcomes], url, 4600)
    assert not (import_jobs.folder(restarted.extensions["fhir"], "crashed") / "source").exists()
    database.dispose()
