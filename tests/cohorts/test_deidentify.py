"""De-identified export of an approved project's cohort: nothing that identifies a patient leaves, references
stay whole, each patient's dates move together within the allowed shift, and the pipeline refuses an unkeyed
hash. Checked against the raw resources of the hospital population."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys

import pytest

from fhir_server.app import build_context
from fhir_server.cohorts import deidentified_export, deidentify
from fhir_server.cohorts.deidentify import Deidentifier

E11 = {"criteria": {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}}
TYPES = ["Patient", "Condition", "Observation", "Encounter", "MedicationRequest"]
TODAY = datetime.date(2026, 12, 1)


def _project(tmp_path, **changes) -> dict:
    return {"project": "KR-T2DM-1", "approvedBy": "steward", "approvedOn": "2026-11-30", "cohort": E11,
            "types": TYPES, "pseudonymKeyFile": str(tmp_path / "keys" / "project.key"),
            "perturb": {"Observation.valueQuantity": 0.05}, **changes}


@pytest.fixture
def exported(hospital_settings, hospital_population, hospital_oracle, tmp_path):
    context = build_context(hospital_settings)
    project = deidentify.project(_project(tmp_path))
    key = b"k" * 32
    written = deidentified_export.export(context, project, key, tmp_path / "out", TODAY)
    context.repository.database.dispose()
    files = {kind: [json.loads(line) for line in (tmp_path / "out" / f"{kind}.ndjson").read_text().splitlines()]
             for kind in TYPES}
    return written, files, Deidentifier(project, key, TODAY)


def test_the_export_holds_the_cohorts_records_and_nothing_else(exported, hospital_oracle):
    written, files, _ = exported
    members = hospital_oracle.members(E11)
    expected = {kind: sum(1 for resource in hospital_oracle.by_type.get(kind, [])
                          if (resource["id"] if kind == "Patient" else hospital_oracle.patient_of(resource)) in members)
                for kind in TYPES}
    assert written == expected and {kind: len(rows) for kind, rows in files.items()} == expected


def test_nothing_that_identifies_a_patient_leaves(exported, hospital_oracle, hospital_population):
    _, files, _ = exported
    text = json.dumps(files, ensure_ascii=False)
    members = hospital_oracle.members(E11)
    for id_ in members:
        patient = hospital_oracle.patients[id_]
        assert id_ not in text
        assert patient["identifier"][0]["value"] not in text  # the registration number
        assert patient["name"][0]["text"] not in text
        assert patient["telecom"][0]["value"] not in text
        assert patient["address"][0]["text"] not in text
    originals = {resource["id"] for resource in hospital_population[1]}
    assert not any(resource["id"] in originals for rows in files.values() for resource in rows)


def test_references_point_at_exported_resources(exported):
    _, files, _ = exported
    ids = {f"{kind}/{resource['id']}" for kind, rows in files.items() for resource in rows}
    for kind in ("Condition", "Observation", "MedicationRequest", "Encounter"):
        for resource in files[kind]:
            assert resource["subject"]["reference"] in ids
            if "encounter" in resource:
                assert resource["encounter"]["reference"] in ids


def test_each_patients_dates_move_together_within_the_allowed_shift(exported, hospital_oracle):
    _, files, deidentifier = exported
    for id_ in hospital_oracle.members(E11):
        shift = datetime.timedelta(days=deidentifier.shift(id_))
        assert abs(shift.days) <= 30
        pseudonym = f"Patient/{deidentifier.pseudonym('Patient', id_)}"
        originals = sorted(resource["onsetDateTime"] for resource in hospital_oracle.by_type["Condition"]
                           if hospital_oracle.patient_of(resource) == id_)
        shifted = sorted(resource["onsetDateTime"] for resource in files["Condition"]
                         if resource["subject"]["reference"] == pseudonym)
        assert [datetime.date.fromisoformat(text) for text in shifted] == \
            [datetime.date.fromisoformat(text) + shift for text in originals]
    shifts = {deidentifier.shift(id_) for id_ in hospital_oracle.members(E11)}
    assert len(shifts) > 5, "shifts differ between patients"


def test_quantities_are_perturbed_within_the_fraction(exported, hospital_oracle):
    _, files, deidentifier = exported
    by_pseudonym = {deidentifier.pseudonym("Observation", resource["id"]): resource
                    for resource in hospital_oracle.by_type["Observation"]}
    moved = 0
    for resource in files["Observation"]:
        if "valueQuantity" in resource:
            original = float(by_pseudonym[resource["id"]]["valueQuantity"]["value"])
            value = resource["valueQuantity"]["value"]
            assert abs(value - original) <= abs(original) * 0.05 + 0.5  # and rounding to the original decimals
            moved += value != original
    assert moved > 10


def test_old_ages_and_addresses_are_generalized(tmp_path):
    deidentifier = Deidentifier(deidentify.project(_project(tmp_path, dateShiftDays=0)), b"k" * 32, TODAY)
    patient = {"resourceType": "Patient", "id": "p", "birthDate": "1931-05-02", "gender": "female",
               "address": [{"text": "서울특별시 종로구 대학로 101", "line": ["대학로 101"], "postalCode": "03080",
                            "country": "KR"}]}
    made = deidentifier.resource(patient, "p")
    assert made["birthDate"] == "1936"  # 95 years old becomes 90, the year only
    assert made["address"] == [{"state": "서울특별시", "postalCode": "030", "country": "KR"}]
    young = deidentifier.resource({**patient, "birthDate": "1980-01-01"}, "p")
    assert young["birthDate"] == "1980-01-01"


@pytest.mark.parametrize("changes, fragment", [
    ({"pseudonyms": "hash"}, "plain hash"),
    ({"approvedBy": None}, "approvedBy"),
    ({"types": ["Condition"]}, "Patient"),
    ({"redact": ["name"]}, "redact"),
])
def test_a_pipeline_the_policy_forbids_is_refused(tmp_path, changes, fragment):
    source = {key: value for key, value in _project(tmp_path, **changes).items() if value is not None}
    with pytest.raises(ValueError, match=fragment):
        deidentify.project(source)


def test_the_command_exports_and_keeps_the_key_apart(hospital_settings, tmp_path):
    environment = {"FHIR_SERVER_DATABASE_URL": hospital_settings.database_url, "FHIR_SERVER_TERMINOLOGY_FOLDER":
                   "/nonexistent", "FHIR_SERVER_LOG_LEVEL": "WARNING", "PATH": "/usr/bin:/bin"}
    (tmp_path / "project.json").write_text(json.dumps(_project(tmp_path)))
    done = subprocess.run([sys.executable, "-m", "fhir_server.cli", "deidentify", str(tmp_path / "project.json"),
                           str(tmp_path / "out")], env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Patient.ndjson" in done.stdout and (tmp_path / "keys" / "project.key").stat().st_mode & 0o077 == 0
    inside = _project(tmp_path, pseudonymKeyFile=str(tmp_path / "out2" / "key"))
    (tmp_path / "inside.json").write_text(json.dumps(inside))
    refused = subprocess.run([sys.executable, "-m", "fhir_server.cli", "deidentify", str(tmp_path / "inside.json"),
                              str(tmp_path / "out2")], env=environment, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and "apart" in refused.stderr
