"""The synthetic population: deterministic, in the proportions its tables promise, and the same patients in every
format: loading the NDJSON gives what importing the tabular export and the genome files gives."""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fhir_server.app import build_context
from fhir_server.import_sources import Options, open_source
from fhir_server.importing import Importer
from fhir_server.settings import Settings
from population import fhir, hospital

ROOT = Path(__file__).parent.parent.parent


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_bytes_and_another_seed_others(tmp_path):
    hospital.write(30, 5, tmp_path / "a")
    hospital.write(30, 5, tmp_path / "b")
    hospital.write(30, 6, tmp_path / "c")
    assert _digest(tmp_path / "a") == _digest(tmp_path / "b") != _digest(tmp_path / "c")


def test_the_shipped_korean_hospital_sample_is_this_generator_s_seed_11(tmp_path):
    hospital.write(40, 11, tmp_path)
    shipped = ROOT / "mappers" / "tabular" / "samples" / "korean-hospital"
    for table in shipped.glob("*.csv"):
        assert (tmp_path / table.name).read_bytes() == table.read_bytes(), table.name


def test_diagnoses_come_in_the_proportions_of_their_weights(tmp_path):
    hospital.write(3000, 3, tmp_path)
    with (tmp_path / "diagnoses.csv").open(encoding="cp949") as handle:
        rows = list(csv.DictReader(handle))
    kinds = {code: kind for code, _, _, kind in hospital.DIAGNOSES}
    patients = {}
    for row in rows:
        code = row["진단코드"].strip().upper().rstrip("-")
        code = code if "." in code or len(code) <= 3 else code[:3] + "." + code[3:]
        patients.setdefault(row["등록번호"], set()).add(kinds[code])
    total = sum(weight for _, _, weight, _ in hospital.DIAGNOSES)
    for kind in ("common", "cancer", "rare"):
        per_draw = sum(weight for _, _, weight, each in hospital.DIAGNOSES if each == kind) / total
        # 1 to 3 draws (uniformly) with replacement: the chance a patient has at least one of the kind.
        expected = 1 - sum((1 - per_draw) ** draws for draws in (1, 2, 3)) / 3
        observed = sum(kind in found for found in patients.values()) / 3000
        assert abs(observed - expected) < 0.03, (kind, observed, expected)


def test_sequenced_patients_have_variants_of_genes_that_go_with_their_diagnoses(tmp_path, normalizer):
    hospital.write(400, 9, tmp_path)
    rejected = []
    resources = list(fhir.resources(tmp_path, normalizer, rejected))
    assert rejected == []
    patients = {resource["id"]: resource for resource in resources if resource["resourceType"] == "Patient"}
    variants = [resource for resource in resources if resource["resourceType"] == "Observation"
                and any(coding.get("code") == "69548-6" for coding in resource["code"]["coding"])]
    reports = [resource for resource in resources if resource["resourceType"] == "DiagnosticReport"]
    sequenced = len((tmp_path / "genomes" / "samples.csv").read_text().splitlines()) - 1
    assert len(reports) == sequenced > 0 and len(variants) >= sequenced
    conditions: dict[str, set[str]] = {}
    for resource in resources:
        if resource["resourceType"] == "Condition":
            codes = {coding["code"][:3] for coding in resource["code"]["coding"]}
            conditions.setdefault(resource["subject"]["reference"], set()).update(codes)
    for variant in variants:
        subject = variant["subject"]["reference"]
        assert subject.removeprefix("Patient/") in patients
        gene = next(component["valueCodeableConcept"]["coding"][0]["code"] for component in variant["component"]
                    if component["code"]["coding"][0]["code"] == "48018-6")
        assert any(gene in hospital.GENES.get(code, ()) for code in conditions[subject]), (gene, conditions[subject])


def _load(context, results) -> dict[str, bytes]:
    Importer(context, validator=None).run(results)
    with context.repository.database.engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT v.resource_type, v.id, v.body FROM resource_versions v").all()
    # Served bytes without meta, which holds the time of loading.
    return {f"{kind}/{id_}": json.dumps({k: v for k, v in json.loads(body).items() if k != "meta"}, sort_keys=True)
            for kind, id_, body in rows}


def test_the_ndjson_holds_what_importing_the_export_and_genomes_gives(tmp_path, sqlite_template, normalizer):
    hospital.write(60, 4, tmp_path / "tabular")
    rejected = []
    written = fhir.write_ndjson(fhir.resources(tmp_path / "tabular", normalizer, rejected), tmp_path / "ndjson")
    assert rejected == [] and written["Patient"] == 60
    loaded = {}
    for name in ("imported", "ndjson"):
        database = tmp_path / f"{name}.sqlite"
        database.write_bytes(sqlite_template.read_bytes())
        context = build_context(Settings(database_url=f"sqlite:///{database}", terminology_folder="/nonexistent",
                                         validation_workers=1))
        if name == "ndjson":
            loaded[name] = _load(context, open_source("ndjson", tmp_path / "ndjson", context).results)
        else:
            _load(context, open_source("tabular", tmp_path / "tabular", context,
                                       Options(spec="korean-hospital")).results)
            for vcf in sorted((tmp_path / "tabular" / "genomes").glob("*.vcf")):
                samples = str(tmp_path / "tabular" / "genomes" / "samples.csv")
                loaded[name] = _load(context, open_source("vcf", vcf, context, Options(samples=samples)).results)
        context.repository.database.dispose()
    assert len(loaded["ndjson"]) == sum(written.values())
    assert loaded["ndjson"] == loaded["imported"]


def test_the_command_writes_bundles_that_fhir_server_load_stores(tmp_path):
    environment = {"FHIR_SERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'fhir.sqlite'}",
                   "FHIR_SERVER_TERMINOLOGY_FOLDER": str(tmp_path / "terminology"), "PATH": ""}
    made = subprocess.run([sys.executable, "-m", "population", "--patients", "5", "--seed", "7", "--formats",
                           "bundles", "--per-bundle", "50", "--out", str(tmp_path / "demo")], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert made.returncode == 0, made.stderr
    total = int(made.stdout.split("resources in")[0].rsplit(" ", 2)[-2])
    assert len(list((tmp_path / "demo").glob("bundle-*.json"))) == -(-total // 50)
    for command in (["init-db"], ["load", str(tmp_path / "demo")]):
        done = subprocess.run([sys.executable, "-m", "fhir_server.cli", *command], env=environment,
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("× 201") == -(-total // 50)


@pytest.mark.parametrize("formats", ["", "csv"])
def test_the_command_refuses_unknown_formats(tmp_path, formats):
    refused = subprocess.run([sys.executable, "-m", "population", "--formats", formats, "--out", str(tmp_path)],
                             capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert refused.returncode == 2 and "--formats takes tabular, ndjson, bundles, kcd" in refused.stderr


def test_the_kcd_format_writes_the_korean_names_that_load_terminology_takes(tmp_path):
    made = subprocess.run([sys.executable, "-m", "population", "--formats", "kcd,bundles", "--patients", "3",
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert made.returncode == 0, made.stderr
    assert (tmp_path / "out" / "bundles" / "bundle-00000.json").exists()
    with (tmp_path / "out" / "kcd" / "kcd.csv").open(encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source))
    assert rows[0] == ["코드", "한글명", "영문명"] and len(rows) == 1 + len(hospital.DIAGNOSES)
    # The English name is WHO ICD-10's for the same code.
    assert ["C50.9", "상세불명의 유방의 악성 신생물", "Malignant neoplasm: Breast, unspecified"] in rows
    environment = {"FHIR_SERVER_TERMINOLOGY_FOLDER": str(tmp_path / "terminology"), "PATH": "",
                   "FHIR_SERVER_DATABASE_URL": f"sqlite:///{tmp_path / 'fhir.sqlite'}"}
    for command in (["init-db"], ["load-terminology", "kcd", str(tmp_path / "out" / "kcd" / "kcd.csv")]):
        done = subprocess.run([sys.executable, "-m", "fhir_server.cli", *command], env=environment,
                              capture_output=True, text=True, cwd=ROOT, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "rejected" not in done.stdout
