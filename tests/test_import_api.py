"""Imports uploaded over HTTP as jobs: 202 with a status URL, progress and summary kept in the database,
rejects downloadable, and an unusable upload refused at once with an OperationOutcome."""

import io
import json
import time
import zipfile
from pathlib import Path

import pytest

from fhir_server import import_jobs
from fhir_server.app import create_app
from fhir_server.import_sources import Options, open_source
from fhir_server.settings import Settings
from fhir_server.storage import import_jobs as stored_jobs
from tests.fhir_client import assert_outcome

GOLDEN = Path(__file__).parent / "data" / "mappers"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(Settings(database_url=database_url, terminology_folder=str(tmp_path / "terminology"),
                              imports_folder=str(tmp_path / "imports"), max_upload_bytes=1_000_000))
    yield app
    app.extensions["fhir"].repository.database.dispose()


def _zip(files: dict[str, bytes], folder: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(folder + name, content)
    return buffer.getvalue()


def _export(folder: str = "") -> bytes:
    return _zip({path.name: path.read_bytes() for path in (GOLDEN / "korean-hospital").glob("*.csv")}, folder)


def _finished(client, location: str) -> dict:
    deadline = time.monotonic() + 60
    while True:
        job = client.get(location).get_json()
        if job["state"] != "running":
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


def test_an_uploaded_export_is_imported_as_a_job(app):
    client = app.test_client()
    response = client.post("/import/tabular?spec=korean-hospital", data=_export("export/"),
                           headers={"Content-Type": "application/zip"})
    assert response.status_code == 202
    location = response.headers["Content-Location"]
    assert location.startswith("http://localhost/import/jobs/"), "an absolute status URL, as async FHIR requests give"
    job = _finished(client, location)
    assert job["state"] == "completed" and job["format"] == "tabular"
    assert job["summary"] == {"read": 10, "mapped": 10, "rejected": 0, "created": 10, "updated": 0, "unchanged": 0,
                              "resource_types": {"Patient": 1, "Encounter": 1, "Condition": 2, "Observation": 3,
                                                 "MedicationRequest": 1, "Procedure": 1, "AllergyIntolerance": 1}}
    assert client.get("/fhir/Patient?identifier=00000001&_summary=count").get_json()["total"] == 1
    assert [listed["id"] for listed in client.get("/import/jobs").get_json()["jobs"]] == [job["id"]]
    assert not (Path(app.extensions["fhir"].settings.imports_folder) / job["id"] / "source").exists()


def test_rejects_of_a_job_are_downloadable_as_ndjson(app):
    files = {path.name: path.read_bytes() for path in (GOLDEN / "korean-hospital").glob("*.csv")}
    files["patients.csv"] += "00000002,이도윤,남,19680230,,,,\r\n".encode("cp949")
    client = app.test_client()
    location = client.post("/import/tabular?spec=korean-hospital", data=_zip(files),
                           headers={"Content-Type": "application/zip"}).headers["Content-Location"]
    job = _finished(client, location)
    assert (job["summary"]["read"], job["summary"]["rejected"]) == (11, 1)
    rejects = client.get(job["rejects"])
    assert rejects.content_type.startswith("application/x-ndjson")
    assert [json.loads(line) for line in rejects.get_data(as_text=True).splitlines()] == [
        {"source": {"file": "patients.csv", "line": 3}, "field": "생년월일",
         "reason": "`19680230` is not a date in the format `%Y%m%d`"}]


def test_a_vcf_upload_names_its_sample_table(app):
    client = app.test_client()
    client.post("/import/tabular?spec=korean-hospital", data=_export(), headers={"Content-Type": "application/zip"})
    _finished(client, client.get("/import/jobs").get_json()["jobs"][0]["status"])
    upload = _zip({"sample.vcf": (GOLDEN / "vcf" / "sample.vcf").read_bytes(),
                   "samples.csv": (GOLDEN / "vcf" / "samples.csv").read_bytes()})
    response = client.post("/import/vcf?samples=samples.csv", data=upload, headers={"Content-Type": "application/zip"})
    job = _finished(client, response.headers["Content-Location"])
    assert (job["state"], job["summary"]["created"], job["summary"]["rejected"]) == ("completed", 4, 7)


@pytest.mark.parametrize("path, body, status, message", [
    ("/import/tabular?spec=korean-hospital", b"not a zip", 400, "is not a zip archive"),
    ("/import/tabular", None, 400, "`tabular` needs --spec"),
    ("/import/tabular?spec=korean-hospital&colour=red", None, 400, "Unknown parameter `colour`"),
    ("/import/hl7v3?spec=x", None, 400, "`hl7v3` is not an import format"),
    ("/import/vcf?samples=samples.csv", None, 400, "holds one .vcf or .vcf.gz file; this one holds 0"),
    ("/import/tabular?spec=synthea-csv", None, 400, "cannot read"),
])
def test_an_upload_that_cannot_be_imported_is_refused_at_once(app, path, body, status, message):
    client = app.test_client()
    response = client.post(path, data=_export() if body is None else body, headers={"Content-Type": "application/zip"})
    assert_outcome(response, status, message)
    assert client.get("/import/jobs").get_json()["jobs"] == []


def test_an_archive_entry_outside_the_archive_is_refused(app):
    response = app.test_client().post("/import/tabular?spec=korean-hospital", data=_zip({"../evil.csv": b"x"}),
                                      headers={"Content-Type": "application/zip"})
    assert_outcome(response, 400, "points outside the archive")


def test_an_upload_over_the_limit_is_413(app):
    response = app.test_client().post("/import/tabular?spec=korean-hospital", data=b"0" * 1_000_001,
                                      headers={"Content-Type": "application/zip"})
    assert_outcome(response, 413)


def test_an_unknown_job_is_404(app):
    assert_outcome(app.test_client().get("/import/jobs/nope"), 404, "Import job `nope` was not found.")
    assert_outcome(app.test_client().get("/import/jobs/nope/rejects"), 404)


class _Crash(BaseException):
    """The server process dying in the middle of the job."""


def test_an_upload_whose_server_stopped_is_resumed_from_its_unpacked_source(database_url, tmp_path):
    settings = Settings(database_url=database_url, terminology_folder=str(tmp_path / "terminology"),
                        imports_folder=str(tmp_path / "imports"), bulk_job_lease_seconds=1)
    app = create_app(settings)
    context, client = app.extensions["fhir"], app.test_client()
    source = import_jobs.folder(context, "crashed") / "source"
    source.mkdir(parents=True)
    for path in GOLDEN.joinpath("korean-hospital").glob("*.csv"):
        (source / path.name).write_bytes(path.read_bytes())
    with (source / "patients.csv").open("ab") as patients:
        patients.write("00000002,이도윤,남,19680230,,,,\r\n".encode("cp949"))
    stored_jobs.create(context.repository.database, "crashed", "tabular", {"spec": "korean-hospital"},
                       owner="a worker that died")

    def dying(results):
        for number, result in enumerate(results, 1):
            if number > 4:
                raise _Crash()
            yield result

    options = Options(spec="korean-hospital")
    results = open_source("tabular", source, context, import_jobs.located_options(options, source)).results
    with pytest.raises(_Crash):
        import_jobs._run(context, "crashed", dying(results), "a worker that died", False, False, None)
    time.sleep(1.1)  # the dead worker's lease runs out; asking for the job resumes it
    job = _finished(client, "/import/jobs/crashed")
    assert job["state"] == "completed" and job["summary"] == {
        "read": 11, "mapped": 10, "rejected": 1, "created": 10, "updated": 0, "unchanged": 0,
        "resource_types": {"Patient": 1, "Encounter": 1, "Condition": 2, "Observation": 3, "MedicationRequest": 1,
                           "Procedure": 1, "AllergyIntolerance": 1}}
    assert len(client.get("/import/jobs/crashed/rejects").get_data().splitlines()) == 1
    assert not source.exists()
    context.repository.database.dispose()
