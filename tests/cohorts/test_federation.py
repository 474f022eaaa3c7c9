"""Federation: three server processes on loopback, each a hospital with its own patients, answer one cohort
question; a peer that refuses, one that is down and one that never answers are reported, not fatal. The
combination is checked against brute force over each hospital's raw resources, and `combine` by hand."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from fhir_server.cohorts import federation
from fhir_server.cohorts.parameters import from_parameters
from fhir_server.security import dev_key
from fhir_server.settings import Settings
from tests.cohorts.oracle import Population
from tests.conftest import load_ndjson
from tests.loopback import free_port

E11 = {"criteria": {"diagnosis": {"system": "icd10", "code": "E11", "below": True}}}


def test_combine_adds_released_counts_and_suppresses_again():
    answers = [{"total": 50, "k": 10, "breakdowns": {"sex": {"female": 30, "male": 20, "other": "<10"},
                                                     "diagnosis": {"E11": 40, "other": 10}}},
               {"total": 12, "k": 10, "breakdowns": {"sex": {"female": 12, "male": "suppressed", "other": "<10"},
                                                     "diagnosis": {"other": 12}}},
               {"total": "<10", "k": 10, "breakdowns": {"sex": {"female": "<10", "male": "<10", "other": "<10"},
                                                        "diagnosis": {"other": "<10"}}}]
    combined = federation.combine(answers, ["sex", "diagnosis"], 10)
    assert combined["total"] == "62-71"  # 50 + 12 + (0..9)
    # female 30+12+(0..9); male 20 + (at least 10) + (0..9); other three small cells, 0..27: all hidden,
    # together at least 72, so nothing more is hidden.
    assert combined["breakdowns"]["sex"] == {"female": "42-51", "male": ">=30", "other": "0-27"}
    # E11 is missing from two hospitals (pooled into their `other`): 40 + (0..9) + (0..9).
    assert combined["breakdowns"]["diagnosis"] == {"E11": "40-58", "other": "22-31"}
    alone = federation.combine(answers[:1], ["sex"], 10)
    # One hidden cell alone: the smallest published cell goes with it.
    assert alone == {"total": 50, "k": 10, "breakdowns": {"sex": {"female": 30, "male": "suppressed", "other": "<10"}}}


def test_a_lone_small_combined_cell_takes_another_with_it():
    answers = [{"total": 44, "k": 5, "breakdowns": {"sex": {"female": 30, "male": 7, "other": 7}}},
               {"total": 9, "k": 5, "breakdowns": {"sex": {"female": 5, "male": 5, "other": "<5"}}}]
    # With k=10 at the coordinator: other is 7..11, hidden alone; male (12) goes with it.
    combined = federation.combine(answers, ["sex"], 10)
    assert combined["total"] == 53
    assert combined["breakdowns"]["sex"] == {"female": 35, "male": "suppressed", "other": "7-11"}



class _Hospital:
    def __init__(self, name: str, folder, resources, template, key, tmp_path, **settings):
        self.name, self.port = name, free_port()
        self.base = f"http://127.0.0.1:{self.port}/fhir"
        database = tmp_path / f"{name}.sqlite"
        shutil.copy(template, database)
        load_ndjson(Settings(database_url=f"sqlite:///{database}", terminology_folder="/nonexistent"), folder)
        self.environment = {**os.environ, "FHIR_SERVER_DATABASE_URL": f"sqlite:///{database}",
                            "FHIR_SERVER_TERMINOLOGY_FOLDER": "/nonexistent", "FHIR_SERVER_PORT": str(self.port),
                            "FHIR_SERVER_AUTH": "on", "FHIR_SERVER_AUTH_DEV_KEY": str(key),
                            "FHIR_SERVER_HOSPITAL_NAME": name, "FHIR_SERVER_LOG_LEVEL": "WARNING",
                            "FHIR_SERVER_SHUTDOWN_TIMEOUT_SECONDS": "5",
                            "FHIR_SERVER_COHORT_NOISE_KEY_FILE": str(tmp_path / f"{name}.noise"),
                            **{f"FHIR_SERVER_{name.upper()}": str(value) for name, value in settings.items()}}
        self.resources = resources
        self.token = dev_key.mint(key, audience=self.base, scopes="user/*.rs", roles=("researcher",),
                                  subject="coordinator")

    def start(self):
        self.process = subprocess.Popen([sys.executable, "-m", "fhir_server.cli", "serve", "--workers", "1"],
                                        env=self.environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return self

    def wait(self):
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base}/metadata", timeout=5):
                    return
            except OSError:
                assert time.monotonic() < deadline, f"{self.name} did not start"
                time.sleep(0.2)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        self.process.communicate(timeout=60)


@pytest.fixture(scope="module")
def hospitals(tmp_path_factory, normalizer, sqlite_template, terminology):
    from population import fhir, hospital
    from terminology import valuesets

    tmp_path = tmp_path_factory.mktemp("federation")
    key = tmp_path / "dev.pem"
    value_sets = {value_set.url: value_set.members(terminology) for value_set in valuesets.COHORT_VALUE_SETS}
    made = {}
    for name, seed, settings in (("alpha", 31, {"cohort_epsilon": 1e9, "cohort_budget": 1e12}),
                                 ("beta", 32, {"cohort_epsilon": 1e9, "cohort_budget": 1e12}),
                                 ("gamma", 33, {"cohort_budget": 0.1})):  # gamma's policy refuses every answer
        folder = tmp_path / name
        hospital.write(120, seed, folder / "tabular")
        resources = list(fhir.resources(folder / "tabular", normalizer, []))
        fhir.write_ndjson(resources, folder / "ndjson")
        made[name] = _Hospital(name, folder / "ndjson", Population(resources, value_sets), sqlite_template, key,
                               tmp_path, **settings)
    silent = socket.socket()  # accepts connections and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    peers = [{"name": name, "url": made[name].base, "tokenFile": str(tmp_path / f"{name}.token")}
             for name in ("beta", "gamma")]
    for name in ("beta", "gamma"):
        (tmp_path / f"{name}.token").write_text(made[name].token)
    peers += [{"name": "down", "url": f"http://127.0.0.1:{free_port()}/fhir"},
              {"name": "silent", "url": f"http://127.0.0.1:{silent.getsockname()[1]}/fhir"}]
    (tmp_path / "peers.json").write_text(json.dumps({"peers": peers}))
    made["alpha"].environment.update({"FHIR_SERVER_FEDERATION_PEERS": str(tmp_path / "peers.json"),
                                      "FHIR_SERVER_FEDERATION_TIMEOUT_SECONDS": "3"})
    for each in made.values():
        each.start()
    try:
        for each in made.values():
            each.wait()
        yield made
    finally:
        for each in made.values():
            each.stop()
        silent.close()


def _post(hospital, operation, definition, *breakdowns):
    body = {"resourceType": "Parameters", "parameter": [
        {"name": "definition", "valueString": json.dumps(definition)},
        *({"name": "breakdown", "valueCode": name} for name in breakdowns)]}
    request = urllib.request.Request(f"{hospital.base}/Group/${operation}", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/fhir+json",
                                              "Authorization": f"Bearer {hospital.token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def test_three_hospitals_answer_one_question_and_troubles_are_reported(hospitals):
    alpha, beta = hospitals["alpha"], hospitals["beta"]
    exact = {name: len(hospitals[name].resources.members(E11)) for name in ("alpha", "beta")}
    assert min(exact.values()) >= 10
    answer = _post(alpha, "cohort-federate", E11, "sex", "hospital")
    parts = {}
    for parameter in answer["parameter"]:
        if parameter["name"] == "hospital":
            fields = {part["name"]: next(value for key, value in part.items() if key.startswith("value"))
                      for part in parameter["part"]}
            parts[fields["name"]] = fields
    assert {name: part["status"] for name, part in parts.items()} == {
        "alpha": "answered", "beta": "answered", "gamma": "refused", "down": "unreachable", "silent": "timed-out"}
    assert parts["alpha"]["count"] == exact["alpha"] and parts["beta"]["count"] == exact["beta"]
    assert "budget" in parts["gamma"]["message"]
    count = next(parameter for parameter in answer["parameter"] if parameter["name"] == "count")
    assert count["valueInteger"] == exact["alpha"] + exact["beta"]
    sex = next(parameter for parameter in answer["parameter"] if parameter["name"] == "breakdown"
               and parameter["part"][0]["valueCode"] == "sex")
    combined = {cell["part"][0]["valueString"]: cell["part"][1].get("valueInteger", cell["part"][1].get("valueString"))
                for cell in sex["part"][1:]}
    by_sex = [hospitals[name].resources.by_sex(hospitals[name].resources.members(E11)) for name in ("alpha", "beta")]
    for label in ("female", "male"):
        if all(counts.get(label, 0) >= 10 for counts in by_sex):
            assert combined[label] == sum(counts[label] for counts in by_sex)


def test_the_federate_command_asks_the_peers(hospitals, tmp_path):
    (tmp_path / "e11.json").write_text(json.dumps(E11))
    result = subprocess.run([sys.executable, "-m", "fhir_server.cli", "federate", str(tmp_path / "e11.json")],
                            env=hospitals["alpha"].environment, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    combined = json.loads(result.stdout)
    assert combined["total"] == len(hospitals["beta"].resources.members(E11))
    assert [hospital["status"] for hospital in combined["hospitals"]] == ["answered", "refused", "unreachable",
                                                                          "timed-out"]


def test_a_peer_answer_is_what_its_policy_released(hospitals):
    released = from_parameters(_post(hospitals["beta"], "cohort-count", E11, "sex"))
    assert released["hospital"] == "beta" and released["total"] == len(hospitals["beta"].resources.members(E11))
