"""A bulk `$import` survives its server being killed: a server process started afterwards resumes the job from
its last checkpoint, and every line ends up stored once or rejected once (read = loaded + rejected)."""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request

from tests.loopback import free_port, kill, serve, stop

PATIENTS = 30_000
BAD = {7, 12_345, 29_999}  # cut-short lines: rejected, each once


def _get(url: str) -> tuple:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            body = response.read()
            return response.status, response.headers, json.loads(body) if body else {}
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"{}")


def test_a_killed_server_s_import_is_resumed_by_the_next_server(tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "fhir.sqlite")
    source = tmp_path / "incoming" / "Patient.ndjson"
    source.parent.mkdir()
    source.write_text("".join('{"resourceType": "Patient", "id": "p\n' if number in BAD else
                              json.dumps({"resourceType": "Patient", "id": f"p{number}", "gender": "male"}) + "\n"
                              for number in range(1, PATIENTS + 1)))
    port = free_port()
    base = f"http://127.0.0.1:{port}/fhir"
    environment = {**os.environ, "FHIR_SERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'fhir.sqlite'}",
                   "FHIR_SERVER_TERMINOLOGY_FOLDER": "/nonexistent", "FHIR_SERVER_PORT": str(port),
                   "FHIR_SERVER_IMPORTS_FOLDER": str(tmp_path / "imports"),
                   "FHIR_SERVER_IMPORT_FOLDERS": str(source.parent), "FHIR_SERVER_BULK_JOB_LEASE_SECONDS": "3",
                   "FHIR_SERVER_LOG_LEVEL": "WARNING"}
    server = serve(environment)
    body = json.dumps({"resourceType": "Parameters", "parameter": [
        {"name": "inputFormat", "valueCode": "application/fhir+ndjson"},
        {"name": "input", "part": [{"name": "type", "valueCode": "Patient"}, {"name": "url", "valueUri": source.as_uri()}]}]})
    request = urllib.request.Request(f"{base}/$import", body.encode(), method="POST", headers={
        "Content-Type": "application/fhir+json", "Prefer": "respond-async"})
    with urllib.request.urlopen(request, timeout=30) as response:
        status_url = response.headers["Content-Location"]
    deadline = time.monotonic() + 120
    while True:  # kill the server once a checkpoint is recorded and well before the end
        status, headers, _ = _get(status_url)
        assert status == 202, "the import ended before the server could be killed"
        if int(headers["X-Progress"].split()[0]) >= 6_000:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    kill(server)

    server = serve(environment)
    try:
        deadline = time.monotonic() + 180
        while (answer := _get(status_url))[0] == 202:
            assert time.monotonic() < deadline
            time.sleep(0.2)
        status, _, manifest = answer
        assert status == 200, manifest
        summary = manifest["summary"]
        assert (summary["read"], summary["rejected"]) == (PATIENTS, len(BAD))
        assert summary["created"] + summary["unchanged"] == PATIENTS - len(BAD) and summary["updated"] == 0
        # 4,000 lines were stored and recorded before the kill (6,000 read: two batches of 2,000 stored, the
        # third being checked). Run again from the start, they would all count as unchanged; resumed from the
        # checkpoint, only a batch stored after it and before the kill (2,000 at most) is stored again.
        assert summary["unchanged"] <= 2_000
        assert manifest["error"][0]["count"] == len(BAD)
        _, _, counted = _get(f"{base}/Patient?_summary=count")
        assert counted["total"] == PATIENTS - len(BAD)
        with urllib.request.urlopen(manifest["error"][0]["url"], timeout=30) as response:
            lines = [json.loads(line)["issue"][0]["diagnostics"] for line in response.read().splitlines()]
        assert [text.split(": ")[0].rsplit(" ", 2)[-2:] for text in lines] == [["line", str(n)] for n in sorted(BAD)]
    finally:
        stop(server)
