"""Importing a hospital export into a real database, then finding it through the FHIR API: every record is
counted (read = mapped + rejected), ids are stable across imports, and expectations are counted by brute
force over the source files."""

import csv
import gc
import io
import json
import shutil
from pathlib import Path

import pytest

from fhir_server import garbage_collection
from fhir_server.app import create_app
from fhir_server.bulk.ndjson import Line
from fhir_server.import_sources import Options, UnreadableSource, open_source
from fhir_server.importing import Importer
from fhir_server.settings import Settings
from fhir_server.storage import value_indexes
from mappers.base import Source
from mappers.tabular import spec
from population import hospital

SAMPLES = Path(spec.__file__).parent / "samples"
GOLDEN = Path(__file__).parent / "data" / "mappers"
ICD10 = "http://hl7.org/fhir/sid/icd-10"


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(Settings(database_url=database_url, terminology_folder=str(tmp_path / "terminology")))
    yield app
    app.extensions["fhir"].repository.database.dispose()


def _import(app, folder, spec_name="korean-hospital", progress=None, **options):
    context = app.extensions["fhir"]
    rejects = io.StringIO()
    source = open_source("tabular", folder, context, Options(spec=spec_name))
    summary = Importer(context, rejects=rejects, **options).run(source.results, progress)
    return summary, [json.loads(line) for line in rejects.getvalue().splitlines()]


def _total(client, query: str) -> int:
    response = client.get(f"/fhir/{query}{'&' if '?' in query else '?'}_summary=count")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["total"]


def _rows(folder: Path, name: str, encoding="cp949") -> list[dict]:
    return list(csv.DictReader(io.StringIO((folder / name).read_bytes().decode(encoding))))


@pytest.mark.parametrize("defer_indexes_after", [0, 100], ids=["indexed-row-by-row", "value-indexes-built-after"])
def test_an_import_is_found_by_search_as_the_source_holds_it(app, defer_indexes_after):
    folder = SAMPLES / "korean-hospital"
    summary, rejects = _import(app, folder, batch_size=100, defer_indexes_after=defer_indexes_after)
    rows = {name: _rows(folder, name) for name in
            ("patients.csv", "visits.csv", "diagnoses.csv", "labs.csv", "prescriptions.csv", "procedures.csv",
             "allergies.csv")}
    assert rejects == []
    assert summary.read == summary.mapped == summary.created == sum(len(found) for found in rows.values())
    client = app.test_client()
    assert _total(client, "Patient") == len(rows["patients.csv"])
    assert _total(client, "Encounter?class=IMP") == sum(row["내원구분"] == "입원" for row in rows["visits.csv"])
    # However the EMR spelled them, breast cancer codes are found under ICD-10 C50.
    spelled = [row["진단코드"].strip().upper().replace(".", "").rstrip("-") for row in rows["diagnoses.csv"]]
    assert _total(client, f"Condition?code:below={ICD10}|C50") == sum(code.startswith("C50") for code in spelled) > 0
    assert _total(client, "Condition?category=primary") == sum(row["주부구분"] == "주" for row in rows["diagnoses.csv"])
    assert _total(client, "Observation?code=http://loinc.org|4548-4") == sum(
        row["LOINC"] == "4548-4" for row in rows["labs.csv"])
    assert _total(client, "Observation?value-string=양성") == sum(row["결과"] == "양성" for row in rows["labs.csv"]) > 0
    first = rows["patients.csv"][0]
    bundle = client.get(f"/fhir/Patient?identifier=http://hospital.example.kr/registration-number|{first['등록번호']}"
                        "&_revinclude=Condition:subject").get_json()
    conditions = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Condition"]
    assert len(conditions) == sum(row["등록번호"] == first["등록번호"] for row in rows["diagnoses.csv"])


def _missing_value_indexes(app) -> list[int]:
    """A progress callback that notes how many value indexes are missing at each checkpoint, and that list."""
    database, missing = app.extensions["fhir"].repository.database, []
    return lambda _: missing.append(len(value_indexes.missing(database))), missing


def test_a_large_import_drops_the_value_indexes_once_past_its_threshold_and_builds_them_at_its_end(app):
    progress, missing = _missing_value_indexes(app)
    summary, _ = _import(app, SAMPLES / "korean-hospital", progress=progress, batch_size=100, defer_indexes_after=300)
    assert summary.created > 600 and summary.updated == 0
    # Having only created resources, it drops the per-resource indexes too.
    everything = len(value_indexes.VALUE_INDEXES) + len(value_indexes.PER_RESOURCE_INDEXES)
    assert missing[:3] == [0, 0, everything]  # the third checkpoint: 300 written, into an empty database
    assert value_indexes.missing(app.extensions["fhir"].repository.database) == []


def _observation_lines(codes: list[tuple[str, str]]) -> list[Line]:
    return [Line(Source("Observation.ndjson", number), json.dumps(
        {"resourceType": "Observation", "id": id_, "status": "final",
         "code": {"coding": [{"system": "http://loinc.org", "code": code}]}}).encode(), "Observation")
        for number, (id_, code) in enumerate(codes, 1)]


def test_an_update_during_a_load_without_per_resource_indexes_builds_them_and_replaces_the_old_rows(app):
    """The last batch updates a resource of the first: its old index rows must go, which needs those indexes."""
    lines = _observation_lines([(f"o{n}", "718-7") for n in range(300)] + [("o5", "4548-4")])
    progress, missing = _missing_value_indexes(app)
    summary = Importer(app.extensions["fhir"], batch_size=100, defer_indexes_after=100).run(lines, progress)
    assert (summary.created, summary.updated) == (300, 1)
    value_only = len(value_indexes.VALUE_INDEXES)
    assert missing == [value_only + len(value_indexes.PER_RESOURCE_INDEXES)] * 3 + [value_only, 0]
    client = app.test_client()
    assert _total(client, "Observation?code=http://loinc.org|718-7") == 299
    assert _total(client, "Observation?code=http://loinc.org|4548-4&_id=o5") == 1


def test_a_load_that_has_updated_resources_keeps_the_per_resource_indexes(app):
    lines = _observation_lines([("o1", "718-7"), ("o1", "4548-4")] + [(f"p{n}", "718-7") for n in range(200)])
    progress, missing = _missing_value_indexes(app)
    summary = Importer(app.extensions["fhir"], batch_size=100, defer_indexes_after=100).run(lines, progress)
    assert (summary.created, summary.updated) == (201, 1)
    assert missing[:3] == [len(value_indexes.VALUE_INDEXES)] * 3 and missing[-1] == 0


def test_an_import_smaller_than_the_database_keeps_the_value_indexes(app, tmp_path):
    _import(app, SAMPLES / "korean-hospital", defer_indexes_after=0)
    hospital.write(10, 5, tmp_path / "smaller")
    progress, missing = _missing_value_indexes(app)
    summary, _ = _import(app, tmp_path / "smaller", progress=progress, batch_size=20, defer_indexes_after=20)
    assert summary.created > 100 and set(missing) == {0}


def test_an_import_that_fails_builds_the_value_indexes_it_dropped(app):
    database = app.extensions["fhir"].repository.database

    def failing(summary):
        if value_indexes.missing(database):
            raise OSError("the disk is full")

    with pytest.raises(OSError):
        _import(app, SAMPLES / "korean-hospital", progress=failing, batch_size=100, defer_indexes_after=100)
    assert value_indexes.missing(database) == []


def test_an_import_collects_garbage_less_often_while_it_runs_and_as_before_after(app):
    before, during = gc.get_threshold(), set()
    _import(app, SAMPLES / "korean-hospital", progress=lambda _: during.add(gc.get_threshold()), batch_size=100)
    assert during == {garbage_collection.BULK_THRESHOLDS} != {before}
    assert gc.get_threshold() == before


def test_importing_again_creates_nothing_and_a_changed_row_is_a_new_version(app, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(GOLDEN / "korean-hospital", folder)
    first, _ = _import(app, folder)
    assert (first.created, first.updated, first.unchanged) == (10, 0, 0)
    again, _ = _import(app, folder)
    assert (again.read, again.created, again.updated, again.unchanged) == (10, 0, 0, 10)
    labs = (folder / "labs.csv").read_bytes().decode("cp949").replace(",7.20,", ",7.40,")
    (folder / "labs.csv").write_bytes(labs.encode("cp949"))
    changed, _ = _import(app, folder)
    assert (changed.created, changed.updated, changed.unchanged) == (0, 1, 9)
    client = app.test_client()
    [entry] = client.get("/fhir/Observation?code=http://loinc.org|4548-4").get_json()["entry"]
    assert entry["resource"]["valueQuantity"]["value"] == 7.4 and entry["resource"]["meta"]["versionId"] == "2"


def test_rejected_records_are_reported_with_their_source_and_not_stored(app, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(GOLDEN / "korean-hospital", folder)
    (folder / "allergies.csv").write_bytes((
        "등록번호,알레르기코드,원인물질,알레르기구분,반응,중증도,등록일자\r\n"
        "00000001,DRUG-PCN,페니실린,약물,두드러기,중등증,20240305\r\n"
        "00000001,DRUG  ASA,아스피린,약물,두드러기,중증,20240305\r\n"      # a code with a double space: not a FHIR code
        "00000001,FOOD-SHF,갑각류,음식,두드러기,심함,20240305\r\n").encode("cp949"))  # 심함 is not in the map
    summary, rejects = _import(app, folder)
    assert (summary.read, summary.mapped, summary.rejected) == (12, 10, 2)
    assert summary.read == summary.mapped + summary.rejected
    assert rejects[0]["source"] == {"file": "allergies.csv", "line": 3}
    assert rejects[0]["reason"].startswith("invalid AllergyIntolerance: ")
    assert rejects[0]["field"].startswith("AllergyIntolerance.code.coding[0].code")
    assert rejects[1] == {"source": {"file": "allergies.csv", "line": 4}, "field": "중증도",
                          "reason": "`심함` is not in the spec's map for `reaction.severity` (line 98): add it, or "
                                    "correct the cell"}
    assert _total(app.test_client(), "AllergyIntolerance") == 1


def test_a_dry_run_maps_and_validates_but_stores_nothing(app):
    summary, _ = _import(app, GOLDEN / "korean-hospital", dry_run=True)
    assert (summary.read, summary.mapped, summary.created) == (10, 10, 0)
    assert _total(app.test_client(), "Patient") == 0


def test_the_synthea_export_loads_whole(app):
    summary, rejects = _import(app, SAMPLES / "synthea-csv", "synthea-csv")
    assert rejects == [] and summary.read == summary.created
    rows = _rows(SAMPLES / "synthea-csv", "conditions.csv", "utf-8")
    client = app.test_client()
    assert _total(client, "Condition") == len(rows)
    assert _total(client, "Condition?code=http://snomed.info/sct|195662009") == sum(
        row["CODE"] == "195662009" for row in rows) > 0  # acute viral pharyngitis


@pytest.mark.parametrize("spec_name, folder, message", [
    (None, SAMPLES / "synthea-csv", "needs --spec"),
    ("no-such-spec", SAMPLES / "synthea-csv", "no spec file"),
    ("synthea-csv", GOLDEN / "korean-hospital", "cannot read encounters.csv"),
    ("synthea-csv", Path("/nonexistent"), "is not a folder"),
])
def test_an_unusable_source_is_refused_before_anything_is_read(app, spec_name, folder, message):
    with pytest.raises(UnreadableSource, match=message):
        _import(app, folder, spec_name)


def test_a_vcf_links_samples_to_imported_patients_and_is_found_by_gene(app):
    _import(app, GOLDEN / "korean-hospital")
    context = app.extensions["fhir"]
    vcf = GOLDEN / "vcf"
    rejects = io.StringIO()
    source = open_source("vcf", vcf / "sample.vcf", context, Options(samples=str(vcf / "samples.csv")))
    summary = Importer(context, rejects=rejects).run(source.results)
    assert (summary.read, summary.mapped, summary.rejected, summary.created) == (13, 6, 7, 4)
    reasons = [json.loads(line) for line in rejects.getvalue().splitlines()]
    assert reasons[0] == {"source": {"file": "sample.vcf", "line": 12, "part": "BLOOD02"}, "field": "sample",
                          "reason": "`Patient/missing-one` does not exist on the server; import the patients first"}
    client = app.test_client()
    brca1 = "Observation?component-code-value-concept=http://loinc.org|48018-6$http://www.genenames.org|BRCA1"
    assert _total(client, brca1) == 1
    patient = client.get("/fhir/Patient?identifier=00000001").get_json()["entry"][0]["resource"]["id"]
    assert _total(client, f"Observation?code=http://loinc.org|69548-6&subject=Patient/{patient}") == 3
    [report] = client.get(f"/fhir/DiagnosticReport?subject=Patient/{patient}").get_json()["entry"]
    assert len(report["resource"]["result"]) == 3


@pytest.mark.parametrize("options, message", [
    (Options(), "needs --samples"),
    (Options(samples=str(GOLDEN / "vcf" / "sample.vcf")), "needs the columns `sample` and `patient`"),
])
def test_a_vcf_without_a_usable_sample_table_is_refused(app, options, message):
    with pytest.raises(UnreadableSource, match=message):
        open_source("vcf", GOLDEN / "vcf" / "sample.vcf", app.extensions["fhir"], options)


def test_a_vcf_without_a_build_needs_one(app, tmp_path):
    path = tmp_path / "nobuild.vcf"
    path.write_text((GOLDEN / "vcf" / "sample.vcf").read_text().replace("##reference=GRCh38\n", "")
                    .replace(",assembly=GRCh38", ""))
    samples = str(GOLDEN / "vcf" / "samples.csv")
    _import(app, GOLDEN / "korean-hospital")  # the patient TUMOR01 belongs to
    with pytest.raises(UnreadableSource, match="give --build"):
        open_source("vcf", path, app.extensions["fhir"], Options(samples=samples))
    results = open_source("vcf", path, app.extensions["fhir"], Options(samples=samples, build="GRCh37")).results
    builds = {component["valueCodeableConcept"]["coding"][0]["display"] for result in results
              for resource in getattr(result, "resources", []) if resource["resourceType"] == "Observation"
              for component in resource["component"] if component["code"]["coding"][0]["code"] == "62374-4"}
    assert builds == {"GRCh37"}


def test_an_omop_cdm_is_found_by_search_as_its_tables_hold_it(app):
    cdm = Path(spec.__file__).parents[1] / "omop" / "samples" / "synthea27"
    summary, rejects = _import_omop(app, cdm)
    tables = {name: _rows(cdm, f"{name}.csv", "utf-8") for name in
              ("PERSON", "VISIT_OCCURRENCE", "CONDITION_OCCURRENCE", "DRUG_EXPOSURE", "MEASUREMENT", "OBSERVATION",
               "PROCEDURE_OCCURRENCE", "DEATH", "OBSERVATION_PERIOD", "SPECIMEN")}
    assert rejects == [] and summary.read == summary.created == sum(len(rows) for rows in tables.values())
    client = app.test_client()
    assert _total(client, "Patient") == len(tables["PERSON"])
    assert _total(client, "Patient?deceased=true") == len({row["person_id"] for row in tables["DEATH"]})
    assert _total(client, "Encounter") == len(tables["VISIT_OCCURRENCE"])
    assert _total(client, "Condition") == len(tables["CONDITION_OCCURRENCE"])
    assert _total(client, "Observation") == len(tables["MEASUREMENT"]) + len(tables["OBSERVATION"]) + sum(
        row["cause_concept_id"] not in ("", "0") for row in tables["DEATH"])
    assert _total(client, "Observation?code=http://loinc.org|29463-7") == sum(
        row["measurement_source_value"] == "29463-7" for row in tables["MEASUREMENT"])
    assert _total(client, "MedicationStatement") + _total(client, "MedicationRequest") == len(tables["DRUG_EXPOSURE"])
    assert _total(client, "Procedure") == len(tables["PROCEDURE_OCCURRENCE"])
    again, _ = _import_omop(app, cdm)
    assert again.unchanged == summary.created and again.created == again.updated == 0


def _import_omop(app, where):
    context = app.extensions["fhir"]
    rejects = io.StringIO()
    summary = Importer(context, rejects=rejects).run(open_source("omop", where, context).results)
    return summary, [json.loads(line) for line in rejects.getvalue().splitlines()]


def test_an_omop_source_that_is_not_a_cdm_is_refused(app, tmp_path):
    with pytest.raises(UnreadableSource, match="has no person.csv"):
        open_source("omop", tmp_path, app.extensions["fhir"])
    with pytest.raises(UnreadableSource, match="has no person or no concept table"):
        open_source("omop", f"sqlite:///{tmp_path / 'empty.sqlite'}", app.extensions["fhir"])


def test_hl7v2_messages_are_imported_and_a_merge_retires_the_old_patient(app):
    context = app.extensions["fhir"]
    rejects = io.StringIO()
    summary = Importer(context, rejects=rejects).run(open_source("hl7v2", GOLDEN / "hl7v2" / "messages.hl7",
                                                                 context).results)
    assert (summary.read, summary.mapped, summary.rejected) == (10, 6, 4)
    assert [json.loads(line)["source"]["part"] for line in rejects.getvalue().splitlines()] == [
        "ADT^A04 MSG0007", "SIU^S12 MSG0008", "ADT^A01 MSG0009", "ORU^R01 MSG0010"]
    client = app.test_client()
    assert _total(client, f"Condition?code:below={ICD10}|C50") == 1
    assert _total(client, "Observation?code=http://loinc.org|2345-7&value-quantity=gt100") == 1
    assert _total(client, "Immunization?vaccine-code=http://hl7.org/fhir/sid/cvx|141") == 1
    assert _total(client, "ServiceRequest?status=active") == 1
    assert _total(client, "Patient?active=false") == 1  # the merged-away record of A40
    again = Importer(context).run(open_source("hl7v2", GOLDEN / "hl7v2" / "messages.hl7", context).results)
    assert again.created == 0 and again.rejected == 4
    # A folder is read file by file, its message files only (not the expected.json beside them): 10 + 7 messages.
    assert sum(1 for _ in open_source("hl7v2", GOLDEN / "hl7v2", context).results) == 17
