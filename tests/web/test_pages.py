"""The web pages in headless Chromium against a real server process: a researcher signs in (SMART standalone
launch with PKCE, or a pasted token), builds a cohort from terminology search, and sees what the API answers
(and what brute force over the raw resources counts, with the noise turned off); an integrator reads import
jobs and filters their rejects."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import time
import urllib.request
import zipfile
from pathlib import Path

from fhir_server.app import create_app
from fhir_server.cohorts.parameters import from_parameters
from fhir_server.security import dev_key

E11 = {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}
STATIC = Path(__file__).parents[2] / "fhir_server" / "web" / "static"
GOLDEN = Path(__file__).parents[1] / "data" / "mappers" / "korean-hospital"


def _sign_in_with_token(page, server, token: str, path: str = "cohorts", language: str = "en"):
    page.goto(f"{server.url}/app/{path}?lang={language}")
    page.click("#account summary")
    page.fill("#token", token)
    page.click("#use-token")
    page.wait_for_selector("#signed-in")


def _pick(page, text: str, system: str, code: str):
    page.fill("#search", text)
    page.click(f'.suggestion[data-system="{system}"][data-code="{code}"]')
    page.wait_for_selector("#add-diagnosis")


def _api(server, token: str, operation: str, body: dict) -> dict:
    request = urllib.request.Request(f"{server.url}/fhir/Group/{operation}", json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/fhir+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def _table(page, id_: str) -> dict[str, list[str]]:
    rows = page.eval_on_selector_all(f"#table-{id_} tbody tr", "rows => rows.map(row => [row.dataset.category, "
                                     "...[...row.querySelectorAll('td')].map(cell => cell.textContent)])")
    return {row[0]: row[1:] for row in rows}


def test_a_researcher_signs_in_with_smart_and_sees_what_the_api_and_brute_force_count(page, server, hospital_oracle):
    page.goto(f"{server.url}/app/cohorts?lang=en")
    page.click("#sign-in")
    page.click("#approve")  # the authorization server asks its user; back at the page with a code
    assert page.wait_for_selector("#signed-in").text_content() == "Signed in as researcher-kim (researcher)"

    _pick(page, "type 2 diabetes", "icd10", "E11")
    hierarchy = page.wait_for_selector(".hierarchy:has-text('E10-E14')").text_content()
    assert hierarchy.startswith("IV ") and "Type 2 diabetes mellitus" in hierarchy
    page.click("#set-index")
    page.select_option("#c-kind", "age")
    page.click("#c-add")
    page.fill("#c-0-min", "40")
    page.select_option("#c-0-at", "index")
    page.select_option("#c-kind", "sex")
    page.click("#c-add")
    page.select_option("#c-1-sex", "male")
    page.check("#c-1-not")
    page.click("#count")
    total = page.wait_for_selector("#total").text_content()

    definition = {"index": E11, "criteria": {"and": [{"age": {"min": 40, "at": "index"}}, {"not": {"sex": "male"}}]}}
    members = hospital_oracle.members(definition)
    assert total == str(len(members)) and len(members) >= 10
    token = page.evaluate("sessionStorage.getItem('fhir-server-token')")
    asked = {"resourceType": "Parameters", "parameter": [{"name": "definition", "valueString": json.dumps(definition)},
                                                          *({"name": "breakdown", "valueCode": name}
                                                            for name in ("age-sex", "diagnosis", "year"))]}
    answer = from_parameters(_api(server, token, "$cohort-count", asked))
    pyramid = _table(page, "age-sex")
    for label, value in answer["breakdowns"]["age-sex"].items():
        band, sex = label.split("|")
        assert pyramid[band][("female", "male", "other", "unknown").index(sex)] == str(value), label
    assert {category: cells[0] for category, cells in _table(page, "diagnosis").items()} == {
        category: str(value) for category, value in answer["breakdowns"]["diagnosis"].items()}
    assert {category: cells[0] for category, cells in _table(page, "year").items()} == {
        category: str(value) for category, value in answer["breakdowns"]["year"].items()}
    # The chart draws the table's numbers: women to the right, suppressed cells as nothing.
    drawn = page.evaluate("Chart.getChart('chart-age-sex').data")
    women = dict(zip(drawn["labels"], drawn["datasets"][1]["data"]))
    for band, cells in pyramid.items():
        assert women[band] == (int(cells[0]) if cells[0].isdigit() else 0)
    assert sum(women.values()) > 0
    assert "minimum cell size k=10" in page.text_content("#rules")


def test_labs_variants_and_time_windows_count_as_brute_force_does(page, server, hospital_oracle):
    _sign_in_with_token(page, server, server.token("researcher"))
    _pick(page, "E11", "icd10", "E11")
    page.click("#set-index")
    page.select_option("#c-kind", "lab")
    page.click("#c-add")
    page.fill("#c-0-code", "4548-4")
    page.select_option("#c-0-comparator", ">=")
    page.fill("#c-0-value", "6.5")
    page.fill("#c-0-unit", "%")
    page.fill("#c-0-from", "0")
    page.fill("#c-0-to", "365")
    page.select_option("#c-kind", "variant")
    page.click("#c-add")
    page.fill("#c-1-gene", "BRCA1")
    page.check("#c-1-not")
    page.uncheck("#breakdown-diagnosis")  # each breakdown spends budget: only the ones chosen are asked for
    page.click("#count")
    definition = {"index": E11, "criteria": {"and": [
        {"lab": {"code": "4548-4", "comparator": ">=", "value": 6.5, "unit": "%", "within": {"fromDays": 0,
                                                                                            "toDays": 365}}},
        {"not": {"variant": {"gene": "BRCA1"}}}]}}
    expected = len(hospital_oracle.members(definition))
    assert 0 < expected < len(hospital_oracle.members({"index": E11, "criteria": E11}))  # the criteria narrow it
    assert page.wait_for_selector("#total").text_content() == (str(expected) if expected >= 10 else "<10")
    assert page.query_selector("#figure-diagnosis") is None
    assert page.query_selector("#figure-age-sex") and page.query_selector("#figure-year")


def test_a_federated_question_shows_each_hospital(page, server, hospital_oracle):
    _sign_in_with_token(page, server, server.token("researcher"))
    _pick(page, "C50", "icd10", "C50")
    page.click("#add-diagnosis")
    page.check("#federate")
    page.click("#count")
    members = hospital_oracle.members({"criteria": {"and": [{"diagnosis": {"system": "icd10", "code": "C50",
                                                                           "below": True}}]}})
    assert len(members) >= 10
    assert page.wait_for_selector("#total").text_content() == str(2 * len(members))  # beta holds the same patients
    assert {hospital: cells[:2] for hospital, cells in _table(page, "hospital").items()} == {
        "alpha": [str(len(members)), "answered"], "beta": [str(len(members)), "answered"]}
    assert page.evaluate("Chart.getChart('chart-hospital').data.datasets[0].data") == [len(members)] * 2


def test_the_page_speaks_korean_and_finds_korean_diagnosis_names(page, server):
    _sign_in_with_token(page, server, server.token("researcher"), language="ko")
    assert page.text_content("#builder-heading") == "코호트 만들기"
    assert page.get_attribute("html", "lang") == "ko"
    page.fill("#search", "유방")
    suggestion = page.wait_for_selector('.suggestion[data-system="kcd"][data-code="C50.9"]')
    assert "상세불명의 유방의 악성 신생물" in suggestion.text_content()
    suggestion.click()
    page.click("#add-diagnosis")
    page.click("#count")
    assert page.wait_for_selector("#rules").text_content() == "최소 칸 크기 k=10, 2차 억제, 환자 집합으로 정해지는 잡음"
    page.select_option("#language", "en")
    assert page.text_content("#builder-heading") == "Build a cohort"
    page.fill("#search", "breast")  # English names: ICD-10's and Orphanet's
    page.wait_for_selector('.suggestion[data-system="orpha"]')
    assert page.query_selector('.suggestion[data-system="icd10"][data-code="C50"]') is not None


def _tab_to(page, selector: str) -> None:
    """Press Tab until the focus is on the element ``selector`` matches, as a keyboard user would."""
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("selector => document.activeElement.matches(selector)", selector):
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_a_diagnosis_is_chosen_and_counted_with_the_keyboard_alone(page, server, hospital_oracle):
    _sign_in_with_token(page, server, server.token("researcher"))
    _tab_to(page, "#search")
    page.keyboard.type("C50")
    page.wait_for_selector('.suggestion[data-system="icd10"][data-code="C50"]')
    _tab_to(page, '.suggestion[data-system="icd10"][data-code="C50"]')
    page.keyboard.press("Enter")
    page.wait_for_selector("#add-diagnosis")
    _tab_to(page, "#add-diagnosis")
    page.keyboard.press("Enter")
    _tab_to(page, "#count")
    page.keyboard.press("Enter")
    expected = len(hospital_oracle.members({"criteria": {"and": [{"diagnosis": {"system": "icd10", "code": "C50",
                                                                                "below": True}}]}}))
    assert page.wait_for_selector("#total").text_content() == (str(expected) if expected >= 10 else "<10")


def test_a_saved_cohort_reopens_with_its_definition_and_its_aggregates_download(page, server):
    _sign_in_with_token(page, server, server.token("researcher"))
    _pick(page, "E11", "icd10", "E11")
    page.click("#add-diagnosis")
    page.select_option("#c-kind", "group")
    page.click("#c-add")
    for sex in ("female", "male"):
        page.select_option("#c-1-kind", "sex")
        page.click("#c-1-add")
    page.select_option("#c-1-1-sex", "male")
    page.fill("#cohort-name", "T2DM by sex")
    page.click("#save")
    saved = page.wait_for_selector("#save-status:has-text('Group/')").text_content()
    group_id = re.search(r"Group/([\w.-]+)", saved).group(1).rstrip(".")

    page.reload()
    page.click(f'.open-saved[data-id="{group_id}"]')
    page.wait_for_selector("#total")
    assert page.input_value("#cohort-name") == "T2DM by sex"
    assert page.eval_on_selector_all("#criteria fieldset.criterion", "all => all.map(one => one.dataset.kind)") == [
        "diagnosis", "sex", "sex"]
    assert page.input_value("#c-1-op") == "or" and page.input_value("#c-1-1-sex") == "male"
    with page.expect_download() as download:
        page.click("#csv")
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == '"dimension","category","count"'
    assert lines[1] == f'"total","","{page.text_content("#total")}"'
    assert any(line.startswith('"age-sex","40-49|female",') for line in lines)


def _upload_with_a_bad_row(server) -> str:
    files = {path.name: path.read_bytes() for path in GOLDEN.glob("*.csv")}
    files["patients.csv"] += "00000002,이도윤,남,19680230,,,,\r\n".encode("cp949")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    token = server.token("integrator", scopes="user/*.cruds")
    request = urllib.request.Request(f"{server.url}/import/tabular?spec=korean-hospital", buffer.getvalue(),
                                     method="POST", headers={"Authorization": f"Bearer {token}",
                                                             "Content-Type": "application/zip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        location = response.headers["Content-Location"]
    deadline = time.monotonic() + 60
    while True:
        with urllib.request.urlopen(urllib.request.Request(location, headers={"Authorization": f"Bearer {token}"})) \
                as response:
            job = json.load(response)
        if job["state"] != "running":
            return job["id"]
        assert time.monotonic() < deadline
        time.sleep(0.2)


def test_an_integrator_sees_import_jobs_and_filters_their_rejects(page, server):
    job_id = _upload_with_a_bad_row(server)
    _sign_in_with_token(page, server, server.token("integrator", scopes="user/*.cruds"), path="imports")
    row = page.wait_for_selector(f'tr[data-job="{job_id}"]')
    summary = {name: row.query_selector(f'td[data-summary="{name}"]').text_content()
               for name in ("read", "mapped", "rejected", "created")}
    assert summary == {"read": "11", "mapped": "10", "rejected": "1", "created": "10"}
    row.query_selector(".show-rejects").click()
    assert page.wait_for_selector("#rejects-table tbody tr").text_content() == (
        "patients.csv3생년월일`19680230` is not a date in the format `%Y%m%d`")
    page.fill("#reject-filter", "no such words")
    assert page.text_content("#reject-count") == "0 of 1 rejects shown"
    page.fill("#reject-filter", "19680230")
    page.select_option("#reject-file", "patients.csv")
    assert page.text_content("#reject-count") == "1 of 1 rejects shown"


def test_a_researcher_is_shown_why_the_import_jobs_are_closed(page, server):
    _sign_in_with_token(page, server, server.token("researcher"), path="imports")
    alert = page.wait_for_selector("[role=alert]").text_content()
    assert alert == "The server answered 403: Only the `integrator` or `admin` role may do this."


def test_an_expired_token_is_forgotten_and_signing_in_is_offered_again(page, server):
    expired = dev_key.mint(server.key, audience=f"{server.url}/fhir", scopes="user/*.rs", roles=("researcher",),
                           lifetime_seconds=-600)
    _sign_in_with_token(page, server, expired)
    page.click("#c-add")  # an age criterion
    page.click("#count")
    assert page.wait_for_selector("[role=alert]").text_content().startswith("The server answered 401:")
    assert page.query_selector("#signed-in") is None and page.query_selector("#sign-in") is not None
    assert page.evaluate("sessionStorage.getItem('fhir-server-token')") is None


def test_pages_allow_scripts_and_calls_to_this_server_and_the_token_endpoint_only(settings):
    app = create_app(dataclasses.replace(settings, auth_token_endpoint="https://login.hospital.example/oauth/token"))
    client = app.test_client()
    for name in ("cohorts", "imports"):
        response = client.get(f"/app/{name}")
        assert response.status_code == 200 and response.content_type == "text/html; charset=utf-8"
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
        connect = re.search(r"connect-src ([^;]+);", policy).group(1).split()
        assert connect == ["'self'", "https://login.hospital.example", "http://fhir.test"]  # the token endpoint, base_url
    assert client.get("/app/static/vendor/chart.umd.min.js").status_code == 200
    app.extensions["fhir"].repository.database.dispose()


def test_every_word_of_the_pages_is_translated():
    source = (STATIC / "i18n.js").read_text()
    languages = {}
    for language, body in re.findall(r"\n  (\w+): \{\n(.*?)\n  \},", source, re.S):
        languages[language] = set(re.findall(r'^\s+"([\w.-]+)":', body, re.M))
    assert set(languages) == {"en", "ko"} and languages["en"] == languages["ko"]
    used = set()
    for path in STATIC.glob("*.*"):
        text = path.read_text()
        used |= set(re.findall(r'data-i18n(?:-\w+)?="([\w.-]+)"', text))
        used |= {key for key in re.findall(r'\bt\("([\w.-]+)"', text)}
    assert used and used <= languages["en"], used - languages["en"]
