"""Screenshots of the web pages for the README (`make screenshots`): a synthetic hospital of 1,000 patients
served on loopback, the cohort explorer in Korean and in English, and the import jobs with their rejects,
taken in Debian's headless Chromium. Run again whenever the pages change.

    .venv/bin/python scripts/screenshots.py docs/screenshots
"""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGUMENTS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--no-first-run", "--disable-quic"]


def run(command: list[str], environment: dict) -> None:
    subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL)


def hospital(folder: Path, port: int) -> dict:
    environment = {**os.environ, "FHIR_SERVER_DATABASE_URL": f"sqlite:///{folder / 'hospital.sqlite'}",
                   "FHIR_SERVER_TERMINOLOGY_FOLDER": str(folder / "terminology"),
                   "FHIR_SERVER_IMPORTS_FOLDER": str(folder / "imports"), "FHIR_SERVER_PORT": str(port),
                   "FHIR_SERVER_COHORT_NOISE_KEY_FILE": str(folder / "noise.key"), "FHIR_SERVER_LOG_LEVEL": "WARNING",
                   "FHIR_SERVER_HOSPITAL_NAME": "서울 예시 병원"}
    run([sys.executable, "-m", "population", "--patients", "1000", "--seed", "3", "--formats", "bundles,kcd,tabular",
         "--out", str(folder / "population")], environment)
    cli = [sys.executable, "-m", "fhir_server.cli"]
    run([*cli, "init-db"], environment)
    run([*cli, "load-terminology", "kcd", str(folder / "population" / "kcd" / "kcd.csv")], environment)
    run([*cli, "load", str(folder / "population" / "bundles")], environment)
    return environment


def export_with_mistakes(folder: Path) -> bytes:
    """The hospital's tabular export, zipped, with a few rows an EMR got wrong, so the import has rejects."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted((folder / "population" / "tabular").glob("*.csv")):
            content = path.read_bytes()
            if path.name == "patients.csv":
                content += "09999998,김민준,남,19680230,,,,\r\n09999999,이서연,여,19701301,,,,\r\n".encode("cp949")
            if path.name == "labs.csv":
                content += "09999997,V1,L2001,4548-4,당화혈색소,높음,%,4.0,6.0,H,20240105\r\n".encode("cp949")
            archive.writestr(path.name, content)
    return buffer.getvalue()


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def cohort(page, base: str, language: str, search: str, system: str, code: str) -> None:
    page.goto(f"{base}/app/cohorts?lang={language}")
    page.fill("#search", search)
    page.click(f'.suggestion[data-system="{system}"][data-code="{code}"]')
    page.wait_for_selector(".hierarchy li:nth-child(3)")
    page.click("#set-index")
    page.select_option("#c-kind", "age")
    page.click("#c-add")
    page.fill("#c-0-min", "30")
    page.select_option("#c-0-at", "index")
    page.click("#count")
    page.wait_for_selector("#chart-age-sex")
    page.fill("#search", search)  # the suggestions again, for the picture
    page.wait_for_selector(".suggestion")


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch, socket.socket() as probe:
        folder = Path(scratch)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        environment = hospital(folder, port)
        server = subprocess.Popen([sys.executable, "-m", "fhir_server.cli", "serve", "--workers", "1"], env=environment)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_for(f"{base}/fhir/metadata")
            upload = urllib.request.Request(f"{base}/import/tabular?spec=korean-hospital", export_with_mistakes(folder),
                                            method="POST", headers={"Content-Type": "application/zip"})
            urllib.request.urlopen(upload, timeout=60).close()
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGUMENTS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                cohort(page, base, "ko", "고혈압", "kcd", "I10")
                page.screenshot(path=out / "cohorts-ko.png", full_page=True)
                cohort(page, base, "en", "type 2 diabetes", "icd10", "E11")
                page.screenshot(path=out / "cohorts-en.png", full_page=True)
                page.goto(f"{base}/app/imports?lang=en")
                page.wait_for_selector("tr[data-job] td.state.completed", timeout=120_000)
                page.click(".show-rejects")
                page.wait_for_selector("#rejects-table")
                page.screenshot(path=out / "imports-en.png", full_page=True)
                browser.close()
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=60)
    print(f"screenshots written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
