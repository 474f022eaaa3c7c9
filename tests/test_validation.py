"""Validation in a pool of processes finds exactly what validating in the importing process finds, in order, and
the index rows the workers prepare are those the writes would have extracted themselves."""

from __future__ import annotations

import copy
import json
import pickle
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from fhir_server import resources
from fhir_server.app import build_context, create_app
from fhir_server.bulk.ndjson import Line
from fhir_server.errors import FhirError
from fhir_server.importing import Importer
from fhir_server.settings import Settings
from fhir_server.storage.tables import INDEX_TABLES
from fhir_server.validation import Loaded, Validator
from mappers.base import Mapped, Source

EXAMPLES = Path(__file__).parent / "data" / "r4-examples"


def _batch() -> list[dict]:
    batch = []
    for number in range(150):
        resource = {"resourceType": "Observation", "id": f"o{number}", "status": "final", "code": {"text": "HbA1c"},
                    "valueQuantity": {"value": number / 10, "unit": "%"}}
        if number % 7 == 3:
            resource["colour"] = "red"  # an element Observation does not have
        if number % 11 == 5:
            resource["status"] = ["final"]  # a list where a code belongs
        batch.append(resource)
    return batch


def _reference(batch: list[dict]) -> list:
    """What fhir.resources says of each resource, checked here one by one."""
    found = []
    for resource in batch:
        try:
            resources.validate(copy.deepcopy(resource))
            found.append(None)
        except FhirError as error:
            found.append(error.message)
    return found


def test_a_pool_reports_the_same_problems_as_validating_in_process():
    batch = _batch()
    pooled = Validator(workers=2).submit(batch)()
    assert [problem[0] if problem else None for problem, _ in pooled] == _reference(batch)
    assert sum(problem is not None for problem, _ in pooled) == len([n for n in range(150) if n % 7 == 3 or n % 11 == 5])
    assert pooled[3][0][1] == "Observation.colour"
    assert all((rows is None) == (problem is not None) for problem, rows in pooled)


def test_lines_and_what_they_became_reach_the_other_process_whole():
    """They cross to and from the workers pickled, by their own ``__reduce__``."""
    line = Line(Source("Observation.ndjson", 7, "entry 2"), b'{"resourceType": "Observation"}\n', "Observation")
    loaded = Loaded("Observation", "o-1", {"search_token": [{"param": "code", "code": "718-7"}]}, b', "status": 1}',
                    None)
    for value in (line, loaded, Loaded("Patient", None, resource={"resourceType": "Patient"})):
        copied = pickle.loads(pickle.dumps(value))
        assert copied == value and type(copied) is type(value)
    assert pickle.loads(pickle.dumps(line)).source.part == "entry 2"


def test_a_small_batch_is_validated_in_the_calling_process():
    batch = _batch()[:10]
    assert Validator(workers=2).submit(batch)() == Validator(workers=1).submit(batch)()


def _examples() -> list[dict]:
    """The official R4 examples, every fifth without its id (an NDJSON line may lack one: it is created)."""
    examples = [json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))]
    for number, example in enumerate(examples):
        if number % 5 == 0:
            del example["id"]
    return examples


def _load(database_url: str, workers: int, extra: list[dict] = (), lines: bool = False) -> Counter:
    """Import the examples, as resources or as NDJSON lines; every index row, its resource named by its content (ids
    differ for created ones)."""
    context = build_context(Settings(database_url=database_url, terminology_folder="/nonexistent",
                                     validation_workers=workers))
    for resource in extra:
        with context.transaction() as transaction:
            transaction.session.update(resource, resource["id"])
    records = [Line(Source("examples", number), json.dumps(example).encode()) if lines else
               Mapped(Source("examples", number), [example]) for number, example in enumerate(_examples(), 1)]
    summary = Importer(context).run(records)
    assert summary.read == summary.mapped + summary.rejected and summary.mapped > 500
    return _stored_rows(context)


def _stored_rows(context) -> Counter:
    found = Counter()
    with context.repository.database.engine.connect() as connection:
        stored = {(kind, id_): (body, last_updated) for kind, id_, body, last_updated in connection.exec_driver_sql(
            "SELECT v.resource_type, v.id, v.body, v.last_updated FROM resource_versions v")}
        for name, table in INDEX_TABLES.items():
            for row in connection.execute(select(table)).mappings():
                body, last_updated = stored[(row["resource_type"], row["resource_id"])]
                content = json.dumps({key: value for key, value in json.loads(body).items() if key not in ("id", "meta")},
                                     sort_keys=True)
                values = {key: value for key, value in row.items() if key != "resource_id"}
                if row["param"] == "_lastUpdated":  # the instant of storing: the same offsets from it
                    values["low"] -= last_updated
                    values["high"] -= last_updated
                found[(name, content, json.dumps(values, sort_keys=True, default=str))] += 1
    context.repository.database.dispose()
    return found


def test_index_rows_prepared_by_the_pool_are_those_each_write_extracts(database_url, tmp_path, sqlite_template):
    reference = tmp_path / "reference.sqlite"
    reference.write_bytes(sqlite_template.read_bytes())
    expected = _load(f"sqlite:///{reference}", workers=1)
    assert _load(database_url, workers=2) == expected
    assert sum(expected.values()) > 5_000


def test_ndjson_lines_parsed_by_the_pool_are_stored_as_each_write_stores_a_resource(database_url, tmp_path,
                                                                                     sqlite_template):
    """Workers parse each line and the importing process stores a new resource from their served tail and rows."""
    reference = tmp_path / "reference.sqlite"
    reference.write_bytes(sqlite_template.read_bytes())
    assert _load(database_url, workers=2, lines=True) == _load(f"sqlite:///{reference}", workers=1)


def test_ndjson_lines_of_resources_that_exist_are_updated_through_the_pipeline(database_url):
    context = build_context(Settings(database_url=database_url, terminology_folder="/nonexistent",
                                     validation_workers=2))
    batch = [resource for resource in _batch() if _valid(resource)]

    def lines(observations):
        return [Line(Source("observations.ndjson", number), json.dumps(resource).encode())
                for number, resource in enumerate(observations, 1)]

    first = Importer(context).run(lines(batch))
    batch[0]["valueQuantity"]["value"] = 99
    again = Importer(context).run(lines(batch))
    assert (first.created, first.updated, first.unchanged) == (len(batch), 0, 0)
    assert (again.created, again.updated, again.unchanged) == (0, 1, len(batch) - 1)
    version = context.repository.read("Observation", batch[0]["id"])
    assert version.version_id == 2 and json.loads(version.body)["valueQuantity"]["value"] == 99
    context.repository.database.dispose()


@pytest.mark.parametrize("lines", [False, True], ids=["resources", "ndjson-lines"])
def test_with_a_custom_search_parameter_in_effect_the_writes_extract_every_row(database_url, lines):
    nickname = {"resourceType": "SearchParameter", "id": "nickname", "url": "http://example.org/nickname",
                "name": "nickname", "status": "active", "code": "nickname", "base": ["Patient"], "type": "string",
                "expression": "Patient.name.given", "description": "A given name"}
    found = _load(database_url, workers=2, extra=[nickname], lines=lines)
    assert sum(count for (table, _, values), count in found.items() if '"param": "nickname"' in values) > 5


def test_index_rows_prepared_before_a_bundle_takes_the_lock_are_those_each_write_extracts(database_url, tmp_path,
                                                                                          sqlite_template):
    """A batch writes each entry on its own (rows prepared before each write's transaction); a transaction
    prepares the rows of the entries whose references it will not rewrite, and here some it will."""
    reference = tmp_path / "reference.sqlite"
    reference.write_bytes(sqlite_template.read_bytes())
    expected = _load(f"sqlite:///{reference}", workers=1)
    examples = _examples()
    accepted = [example for example in examples if _valid(example)]
    target = {"resourceType": "Patient", "id": "conditional-target", "name": [{"family": "RewrittenTarget"}]}
    batch = [_entry(example) for example in examples] + [_entry(target)]
    half = len(accepted) // 2
    transaction = [_entry(example) for example in accepted[half:]]
    # Two entries the transaction must rewrite: a Patient created under a urn:uuid, and an Observation about it.
    transaction += [{"fullUrl": "urn:uuid:4e1f0e58-0c3e-4bb7-a9a4-7a1c3a0f2f11",
                     "resource": {"resourceType": "Patient", "name": [{"family": "Rewritten"}]},
                     "request": {"method": "POST", "url": "Patient"}},
                    {"resource": {"resourceType": "Observation", "id": "about-rewritten", "status": "final",
                                  "code": {"text": "Rewritten subject"},
                                  "subject": {"reference": "urn:uuid:4e1f0e58-0c3e-4bb7-a9a4-7a1c3a0f2f11"}},
                     "request": {"method": "PUT", "url": "Observation/about-rewritten"}},
                    {"resource": {"resourceType": "Observation", "id": "about-conditional", "status": "final",
                                  "code": {"text": "Rewritten conditional"},
                                  "subject": {"reference": "Patient?family=RewrittenTarget"}},
                     "request": {"method": "PUT", "url": "Observation/about-conditional"}}]
    app = create_app(Settings(database_url=database_url, terminology_folder="/nonexistent"))
    client = app.test_client()
    for kind, entries in (("batch", [entry for entry in batch if entry["resource"] in [*accepted[:half], target]]),
                          ("transaction", transaction)):
        response = client.post("/fhir", json={"resourceType": "Bundle", "type": kind, "entry": entries},
                               headers={"Content-Type": "application/fhir+json"})
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    found = _stored_rows(app.extensions["fhir"])
    rewritten = Counter({key: count for key, count in found.items() if "Rewritten" in key[1]})
    assert sum(rewritten.values()) > 3
    assert found - rewritten == expected
    subjects = {json.loads(content)["code"]["text"]: json.loads(values)["target_id"]
                for (table, content, values) in rewritten if '"param": "subject"' in values}
    assert subjects["Rewritten conditional"] == "conditional-target"
    created = client.get("/fhir/Patient?family:exact=Rewritten").get_json(force=True)["entry"][0]["resource"]["id"]
    assert subjects["Rewritten subject"] == created


def _valid(resource: dict) -> bool:
    try:
        resources.validate(copy.deepcopy(resource))
    except FhirError:
        return False
    return True


def _entry(resource: dict) -> dict:
    url = f"{resource['resourceType']}/{resource['id']}" if "id" in resource else resource["resourceType"]
    return {"resource": resource, "request": {"method": "PUT" if "id" in resource else "POST", "url": url}}
