"""Bulk Data `$export` (https://hl7.org/fhir/uv/bulkdata/STU2/export.html) through real HTTP: kick-off, status
polling, manifest, NDJSON downloads, cancellation, expiry, and resumption after the worker stopped.

Expected contents are worked out from the resources the test wrote, not from the server's search."""

from __future__ import annotations

import gc
import json
import time
from urllib.parse import quote

import pytest

from fhir_server import garbage_collection
from fhir_server.app import create_app
from fhir_server.bulk import export, export_jobs
from fhir_server.bulk.export import Exporter, Progress
from fhir_server.bulk.export_request import ExportRequest
from fhir_server.settings import Settings
from fhir_server.storage import export_jobs as stored_jobs
from fhir_server.storage.instants import format_instant
from tests.fhir_client import assert_outcome, put

ASYNC = {"Prefer": "respond-async", "Accept": "application/fhir+json"}


def _app(database_url, tmp_path, **settings):
    return create_app(Settings(database_url=database_url, base_url="http://fhir.test/fhir",
                               exports_folder=str(tmp_path / "exports"), **settings))


@pytest.fixture
def app(database_url, tmp_path):
    app = _app(database_url, tmp_path)
    yield app
    app.extensions["fhir"].repository.database.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def _observation(id_: str, patient: str | None, code: str) -> dict:
    resource = {"resourceType": "Observation", "id": id_, "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": code}]}}
    if patient:
        resource["subject"] = {"reference": f"Patient/{patient}"}
    return resource


RECORD = [
    {"resourceType": "Organization", "id": "org", "name": "Asan"},
    {"resourceType": "Practitioner", "id": "doc"},
    {"resourceType": "Patient", "id": "kim", "managingOrganization": {"reference": "Organization/org"}},
    {"resourceType": "Patient", "id": "lee"},
    {"resourceType": "Patient", "id": "park"},
    _observation("o1", "kim", "4548-4"),
    _observation("o2", "kim", "2345-7"),
    _observation("o3", "lee", "4548-4"),
    _observation("o4", None, "4548-4"),  # in no patient's compartment
    {"resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/park"}, "code": {"text": "C50.9"}},
    {"resourceType": "Encounter", "id": "e1", "status": "finished", "class": {"code": "AMB"},
     "subject": {"reference": "Patient/lee"}, "participant": [{"individual": {"reference": "Practitioner/doc"}}]},
    {"resourceType": "Group", "id": "cohort", "type": "person", "actual": True,
     "member": [{"entity": {"reference": "Patient/kim"}}, {"entity": {"reference": "Patient/park"}}]},
]


def _write_record(client) -> None:
    for resource in RECORD:
        response = put(client, f"{resource['resourceType']}/{resource['id']}", resource)
        assert response.status_code == 201, response.get_data(as_text=True)


def _references(resources) -> set[str]:
    return {f"{resource['resourceType']}/{resource['id']}" for resource in resources}


def _kick_off(client, path: str) -> str:
    response = client.get(f"/fhir/{path}", headers=ASYNC)
    assert response.status_code == 202, response.get_data(as_text=True)
    location = response.headers["Content-Location"]
    assert location.startswith("http://fhir.test/fhir/bulk-status/")
    return location.removeprefix("http://fhir.test")


def _finished(client, status_url: str):
    deadline = time.monotonic() + 60
    while True:
        response = client.get(status_url)
        if response.status_code != 202:
            return response
        assert response.headers["Retry-After"].isdigit()
        assert "resources exported" in response.headers["X-Progress"]
        assert time.monotonic() < deadline, response.headers["X-Progress"]
        time.sleep(0.05)


def _download(client, manifest: dict) -> list[dict]:
    exported = []
    for output in manifest["output"]:
        response = client.get(output["url"].removeprefix("http://fhir.test"))
        assert response.status_code == 200
        assert response.content_type == "application/fhir+ndjson"
        lines = response.get_data().splitlines()
        assert len(lines) == output["count"]
        resources = [json.loads(line) for line in lines]
        assert {resource["resourceType"] for resource in resources} == {output["type"]}
        exported += resources
    return exported


def _export(client, path: str) -> tuple[dict, list[dict]]:
    response = _finished(client, _kick_off(client, path))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    assert "Expires" in response.headers
    manifest = response.get_json()
    return manifest, _download(client, manifest)


def test_system_export_holds_every_resource_once(client):
    _write_record(client)
    manifest, exported = _export(client, "$export")
    assert sorted(_references(exported)) == sorted(_references(RECORD))
    assert len(exported) == len(RECORD)
    assert manifest["request"] == "http://fhir.test/fhir/$export"
    assert manifest["requiresAccessToken"] is False and manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    # The lines are the stored resources as a read serves them.
    assert exported[0] == client.get(f"/fhir/{exported[0]['resourceType']}/{exported[0]['id']}").get_json()


def test_patient_export_holds_the_patient_compartments(client):
    _write_record(client)
    _, exported = _export(client, "Patient/$export")
    # The Patient CompartmentDefinition puts a Group in its members' compartments (Group.member).
    in_compartments = [resource for resource in RECORD
                       if resource["resourceType"] in ("Patient", "Group") or "subject" in resource]
    assert _references(exported) == _references(in_compartments)


def test_group_export_holds_the_members_compartments(client):
    _write_record(client)
    _, exported = _export(client, "Group/cohort/$export")
    members = {"Patient/kim", "Patient/park"}
    expected = [resource for resource in RECORD
                if f"Patient/{resource['id']}" in members and resource["resourceType"] == "Patient"
                or resource.get("subject", {}).get("reference") in members or resource["resourceType"] == "Group"]
    assert _references(exported) == _references(expected) == {"Patient/kim", "Patient/park", "Observation/o1",
                                                                  "Observation/o2", "Condition/c1", "Group/cohort"}


def test_type_and_type_filters_select_what_is_exported(client):
    _write_record(client)
    filters = "&".join("_typeFilter=" + quote(search, safe="") for search in
                       ("Observation?code=http://loinc.org|4548-4&subject=Patient/kim", "Observation?code=2345-7"))
    manifest, exported = _export(client, f"$export?_type=Observation,Patient&{filters}")
    # The two filters are OR'd; each one's parameters are AND'd; Patient is not filtered.
    assert _references(exported) == {"Observation/o1", "Observation/o2", "Patient/kim", "Patient/lee", "Patient/park"}
    assert manifest["request"].startswith("http://fhir.test/fhir/$export?_type=Observation%2CPatient&_typeFilter=")


def test_since_keeps_what_changed_at_or_after_it(client):
    _write_record(client)
    time.sleep(0.01)
    changed = put(client, "Observation/o3", {**_observation("o3", "lee", "718-7")}).get_json()
    _, exported = _export(client, f"$export?_since={quote(changed['meta']['lastUpdated'])}")
    assert _references(exported) == {"Observation/o3"}
    assert exported[0]["code"]["coding"][0]["code"] == "718-7"


def test_a_large_type_is_split_into_files(database_url, tmp_path):
    app = _app(database_url, tmp_path, export_file_resources=2)
    client = app.test_client()
    _write_record(client)
    manifest, exported = _export(client, "$export?_type=Observation")
    assert [(output["url"].rsplit("/", 1)[1], output["count"]) for output in manifest["output"]] == [
        ("Observation-1.ndjson", 2), ("Observation-2.ndjson", 2)]
    assert sorted(resource["id"] for resource in exported) == ["o1", "o2", "o3", "o4"]
    app.extensions["fhir"].repository.database.dispose()


def test_post_kick_off_takes_parameters(client):
    _write_record(client)
    parameters = {"resourceType": "Parameters", "parameter": [{"name": "_type", "valueString": "Condition"},
                                                              {"name": "_outputFormat",
                                                               "valueString": "application/fhir+ndjson"}]}
    response = client.post("/fhir/$export", data=json.dumps(parameters),
                           headers={**ASYNC, "Content-Type": "application/fhir+json"})
    assert response.status_code == 202, response.get_data(as_text=True)
    manifest = _finished(client, response.headers["Content-Location"].removeprefix("http://fhir.test")).get_json()
    assert _references(_download(client, manifest)) == {"Condition/c1"}


@pytest.mark.parametrize("path, headers, status, message", [
    ("$export", {}, 400, "Prefer: respond-async"),
    ("$export?_elements=id", ASYNC, 400, "`_elements`"),
    ("$export?_outputFormat=text/csv", ASYNC, 400, "`_outputFormat=text/csv`"),
    ("$export?_since=yesterday", ASYNC, 400, "`_since=yesterday`"),
    ("$export?_type=Spaceship", ASYNC, 400, "`Spaceship`"),
    ("Patient/$export?_type=Practitioner", ASYNC, 400, "never in a patient's compartment"),
    ("$export?_type=Patient&_typeFilter=Observation%3Fcode%3Dx", ASYNC, 400, "not among `_type`"),
    ("$export?_typeFilter=Observation%3Fcolour%3Dred", ASYNC, 400, "`colour`"),
    ("$export?_typeFilter=code%3Dx", ASYNC, 400, "Type?parameter=value"),
    ("Group/nobody/$export", ASYNC, 404, "Group/nobody"),
    ("Observation/$export", ASYNC, 404, "`Observation` has no such operation"),
])
def test_a_kick_off_that_cannot_be_honoured_is_refused_before_a_job_exists(client, path, headers, status, message):
    assert_outcome(client.get(f"/fhir/{path}", headers=headers), status, message)


def test_a_running_export_records_its_progress_every_second_not_every_page(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "PAGE", 1)  # a page per resource
    running, record = [], stored_jobs.checkpoint

    def counted(*args, **keywords):
        running.append(keywords.get("state", stored_jobs.RUNNING) == stored_jobs.RUNNING)
        return record(*args, **keywords)
    monkeypatch.setattr(stored_jobs, "checkpoint", counted)
    app = _app(database_url, tmp_path)
    client = app.test_client()
    _write_record(client)
    started = time.monotonic()
    manifest, exported = _export(client, "$export")
    elapsed = time.monotonic() - started
    assert len(exported) == len(RECORD) and running[-1] is False  # the last record is the finished job's
    assert running.count(True) <= elapsed / export_jobs.CHECKPOINT_SECONDS + 1
    app.extensions["fhir"].repository.database.dispose()


def test_a_running_export_collects_garbage_less_often_and_as_before_after(database_url, tmp_path, monkeypatch):
    monkeypatch.setattr(export, "PAGE", 1)
    before, during, record = gc.get_threshold(), set(), stored_jobs.checkpoint

    def observed(*args, **keywords):
        if keywords.get("state", stored_jobs.RUNNING) == stored_jobs.RUNNING:
            during.add(gc.get_threshold())
        return record(*args, **keywords)
    monkeypatch.setattr(stored_jobs, "checkpoint", observed)
    monkeypatch.setattr(export_jobs, "CHECKPOINT_SECONDS", 0)  # record every page
    app = _app(database_url, tmp_path)
    client = app.test_client()
    _write_record(client)
    _export(client, "$export")
    assert during == {garbage_collection.BULK_THRESHOLDS} != {before}
    assert gc.get_threshold() == before
    app.extensions["fhir"].repository.database.dispose()


def test_cancelling_deletes_the_job_and_its_files(client, app, tmp_path):
    _write_record(client)
    status_url = _kick_off(client, "$export")
    _finished(client, status_url)
    job_id = status_url.rsplit("/", 1)[1]
    assert (tmp_path / "exports" / job_id).is_dir()
    assert client.delete(status_url).status_code == 202
    assert not (tmp_path / "exports" / job_id).exists()
    assert_outcome(client.get(status_url), 404, job_id)
    assert_outcome(client.delete(status_url), 404, job_id)


def test_finished_files_expire(database_url, tmp_path):
    app = _app(database_url, tmp_path, export_expiry_seconds=0)
    client = app.test_client()
    _write_record(client)
    status_url = _kick_off(client, "$export")
    assert_outcome(_finished(client, status_url), 404, "expired")
    assert not (tmp_path / "exports" / status_url.rsplit("/", 1)[1]).exists()
    app.extensions["fhir"].repository.database.dispose()


def test_a_file_of_another_job_or_an_unfinished_one_is_not_served(client):
    _write_record(client)
    status_url = _kick_off(client, "$export?_type=Patient")
    manifest = _finished(client, status_url).get_json()
    url = manifest["output"][0]["url"].removeprefix("http://fhir.test")
    assert_outcome(client.get(url.replace("Patient-1", "Patient-9")), 404, "Patient-9")
    assert_outcome(client.get(url.replace("/bulk-files/", "/bulk-files/x")), 404)
    assert_outcome(client.get(url.replace("Patient-1.ndjson", "..%2F..%2Ffhir.sqlite")), 404)


def test_an_interrupted_export_resumes_from_its_checkpoint_and_writes_each_resource_once(database_url, tmp_path):
    app = _app(database_url, tmp_path, bulk_job_lease_seconds=1, export_file_resources=3)
    client, context = app.test_client(), app.extensions["fhir"]
    _write_record(client)
    export = ExportRequest("system", ["Observation", "Patient"])
    folder = export_jobs.folder(context, "interrupted")
    progress, pages = Progress(), []

    def crash_after_two_pages(progress: Progress) -> bool:
        pages.append(progress.as_json())
        return len(pages) < 2

    exporter = Exporter(context, export, folder, context.settings.export_file_resources, stored_jobs.now_ms())
    exporter.page_size = 2
    assert exporter.run(progress, crash_after_two_pages) is False
    checkpoint = pages[0]  # the last checkpoint that was recorded; the second page was written but not recorded
    assert checkpoint["after"] == "o2" and checkpoint["open_file"] == {"name": "Observation-1.ndjson", "count": 2,
                                                                       "bytes": checkpoint["open_file"]["bytes"]}
    stored_jobs.create(context.repository.database, "interrupted", request="http://fhir.test/fhir/$export",
                       parameters=export.as_json(), progress=checkpoint, owner="a worker that died",
                       transaction_time=stored_jobs.now_ms())
    time.sleep(1.1)  # the lease runs out
    manifest = _finished(client, "/fhir/bulk-status/interrupted").get_json()
    exported = _download(client, manifest)
    assert sorted(_references(exported)) == sorted(_references(r for r in RECORD
                                                               if r["resourceType"] in ("Observation", "Patient")))
    assert [output["count"] for output in manifest["output"]] == [3, 1, 3]
    app.extensions["fhir"].repository.database.dispose()


def _export_observations(context, tmp_path, as_of: int, since: str | None = None) -> dict[str, dict]:
    folder = tmp_path / "as-of"
    progress = Progress()
    Exporter(context, ExportRequest("system", ["Observation"], since=since), folder,
             context.settings.export_file_resources, as_of).run(progress, lambda progress: True)
    lines = b"".join((folder / file["name"]).read_bytes() for file in progress.files).splitlines()
    return {resource["id"]: resource for resource in map(json.loads, lines)}


def _a_moment_later() -> int:
    """An instant after every write so far, and before every later one (instants are in milliseconds)."""
    time.sleep(0.005)
    instant = stored_jobs.now_ms()
    time.sleep(0.005)
    return instant


def test_an_export_holds_the_resources_as_they_were_at_its_transaction_time(app, client, tmp_path):
    _write_record(client)
    transaction_time = _a_moment_later()
    assert put(client, "Observation/o1", _observation("o1", "kim", "718-7")).status_code == 200
    assert put(client, "Observation/o5", _observation("o5", "kim", "718-7")).status_code == 201

    exported = _export_observations(app.extensions["fhir"], tmp_path, transaction_time)

    assert sorted(exported) == ["o1", "o2", "o3", "o4"]  # o5 came later
    assert exported["o1"]["meta"]["versionId"] == "1"
    assert exported["o1"]["code"]["coding"][0]["code"] == "4548-4"


def test_a_resource_that_matches_since_only_by_a_change_after_the_transaction_time_is_left_out(app, client, tmp_path):
    _write_record(client)
    since = _a_moment_later()
    assert put(client, "Observation/o2", _observation("o2", "kim", "718-7")).status_code == 200
    transaction_time = _a_moment_later()
    assert put(client, "Observation/o1", _observation("o1", "kim", "718-7")).status_code == 200

    exported = _export_observations(app.extensions["fhir"], tmp_path, transaction_time,
                                    since=format_instant(since))

    assert sorted(exported) == ["o2"]
    assert exported["o2"]["code"]["coding"][0]["code"] == "718-7"


def test_a_resource_deleted_after_the_transaction_time_is_exported_as_it_was_then(app, client, tmp_path):
    _write_record(client)
    assert client.delete("/fhir/Observation/o4").status_code in (200, 204)  # gone before the kick-off: left out
    transaction_time = _a_moment_later()
    assert client.delete("/fhir/Observation/o2").status_code in (200, 204)
    assert put(client, "Observation/o3", _observation("o3", "kim", "718-7")).status_code == 200
    assert client.delete("/fhir/Observation/o3").status_code in (200, 204)  # changed, then deleted, since

    exported = _export_observations(app.extensions["fhir"], tmp_path, transaction_time)

    assert sorted(exported) == ["o1", "o2", "o3"]
    assert exported["o2"]["meta"]["versionId"] == "1" and exported["o3"]["meta"]["versionId"] == "1"
    assert exported["o3"]["code"]["coding"][0]["code"] != "718-7"


def test_a_resource_deleted_since_that_did_not_match_since_then_is_left_out(app, client, tmp_path):
    _write_record(client)
    since = _a_moment_later()
    assert put(client, "Observation/o2", _observation("o2", "kim", "718-7")).status_code == 200
    transaction_time = _a_moment_later()
    for id_ in ("o1", "o2"):
        assert client.delete(f"/fhir/Observation/{id_}").status_code in (200, 204)

    exported = _export_observations(app.extensions["fhir"], tmp_path, transaction_time, since=format_instant(since))

    assert sorted(exported) == ["o2"]  # o1 was last changed before `_since`


def test_the_capability_statement_declares_bulk_data(client):
    statement = client.get("/fhir/metadata").get_json()
    assert "http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data" in statement["instantiates"]
    system_operations = {operation["name"]: operation["definition"] for operation in statement["rest"][0]["operation"]}
    assert system_operations["export"] == "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
    patient = next(kind for kind in statement["rest"][0]["resource"] if kind["type"] == "Patient")
    assert {"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"} \
        in patient["operation"]
