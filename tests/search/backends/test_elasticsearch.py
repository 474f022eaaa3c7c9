"""What the Elasticsearch backend does beyond the shared contract (tests/search/test_contract.py):
writes that outlive an unreachable cluster, reconcile and reindex, full text, literal wildcards, and
chains whose matches take many pages. Runs on the emulator (tests/search/elasticsearch_emulator.py), or
on the cluster FHIR_SERVER_ELASTICSEARCH_URL names (`make test-es`) but for the outage, which needs the
emulator's proxy to play the cluster going away."""

from __future__ import annotations

import dataclasses
import time

import pytest

from fhir_server import cli
from fhir_server.app import build_context, create_app
from fhir_server.search.backends import elasticsearch as backend_module
from fhir_server.settings import Settings
from fhir_server.storage import outbox
from tests.conftest import close, elasticsearch_settings, fresh_database
from tests.fhir_client import assert_outcome, put


@pytest.fixture
def engine_settings(request, tmp_path, elasticsearch_url):
    database_url = next(fresh_database(request, "sqlite", tmp_path))
    return Settings(database_url=database_url, base_url="http://fhir.test/fhir",
                    elasticsearch_outbox_seconds=1, **elasticsearch_settings(elasticsearch_url))


@pytest.fixture
def app(engine_settings):
    app = create_app(engine_settings)
    yield app
    close(app)


@pytest.fixture
def emulated(engine_settings, elasticsearch):
    """The app on the emulator, whose proxy can drop every request, as a cluster that went away."""
    app = create_app(dataclasses.replace(engine_settings, elasticsearch_url=elasticsearch.url))
    yield app
    elasticsearch.unreachable = False
    close(app)


def _ids(client, query: str) -> list[str]:
    response = client.get(f"/fhir/{query}")
    assert response.status_code == 200, response.get_data(as_text=True)
    return [entry["resource"]["id"] for entry in response.get_json(force=True).get("entry", [])
            if entry["search"]["mode"] == "match"]


def _patient(id_: str, family: str, **more) -> dict:
    return {"resourceType": "Patient", "id": id_, "name": [{"family": family}], **more}


def _waiting(app) -> int:
    with app.extensions["fhir"].repository.database.read() as connection:
        return outbox.size(connection)


def test_writes_commit_while_the_cluster_is_down_and_reach_the_index_from_the_outbox(emulated, elasticsearch):
    app, client = emulated, emulated.test_client()
    put(client, "Patient/a", _patient("a", "Kim"))
    assert _ids(client, "Patient?family=kim") == ["a"] and _waiting(app) == 0
    elasticsearch.unreachable = True
    assert put(client, "Patient/b", _patient("b", "Kim")).status_code == 201
    assert client.delete("/fhir/Patient/a").status_code in (200, 204)
    assert client.get("/fhir/Patient/b").status_code == 200  # the database has it
    assert_outcome(client.get("/fhir/Patient?family=kim"), 503, "search engine is unavailable")
    assert _waiting(app) == 2
    elasticsearch.unreachable = False
    deadline = time.monotonic() + 20  # the outbox timer runs every second
    while _waiting(app) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _waiting(app) == 0
    assert _ids(client, "Patient?family=kim") == ["b"]


def test_a_page_skips_resources_the_index_has_not_yet_seen_deleted_and_still_fills_up(
        engine_settings, elasticsearch):
    app = create_app(dataclasses.replace(engine_settings, elasticsearch_url=elasticsearch.url,
                                         elasticsearch_outbox_seconds=3600))
    client = app.test_client()
    for number in range(4):
        put(client, f"Patient/p{number}", _patient(f"p{number}", "Han"))
    elasticsearch.unreachable = True
    client.delete("/fhir/Patient/p1")
    elasticsearch.unreachable = False
    first = client.get("/fhir/Patient?family=han&_count=2").get_json(force=True)
    assert [entry["resource"]["id"] for entry in first["entry"]] == ["p0", "p2"]
    following = next(link["url"] for link in first["link"] if link["relation"] == "next")
    assert _ids(client, following.split("/fhir/", 1)[1]) == ["p3"]
    close(app)


def test_without_waiting_for_a_refresh_a_write_is_searchable_after_the_next_one(engine_settings):
    app = create_app(dataclasses.replace(engine_settings, elasticsearch_refresh="false"))
    client = app.test_client()
    put(client, "Patient/quick", _patient("quick", "Jang"))
    engine = app.extensions["fhir"].search.backend
    engine.client.indices.refresh(index=engine.index_name("Patient"))  # the cluster's periodic refresh
    assert _ids(client, "Patient?family=jang") == ["quick"]
    close(app)


def test_an_unknown_refresh_policy_is_refused_at_start(engine_settings):
    with pytest.raises(ValueError, match="FHIR_SERVER_ELASTICSEARCH_REFRESH must be"):
        create_app(dataclasses.replace(engine_settings, elasticsearch_refresh="sometimes"))


def _run(monkeypatch, settings: Settings, *args: str) -> int:
    for name, value in (("DATABASE_URL", settings.database_url), ("SEARCH_BACKEND", "elasticsearch"),
                        ("ELASTICSEARCH_URL", settings.elasticsearch_url),
                        ("ELASTICSEARCH_INDEX_PREFIX", settings.elasticsearch_index_prefix)):
        monkeypatch.setenv(f"FHIR_SERVER_{name}", value)
    return cli.main(list(args))


def _lose_the_outbox(app) -> None:
    with app.extensions["fhir"].repository.database.write() as connection:
        outbox.done(connection, [seq for seq, _, _ in outbox.pending(connection, 100)])


@pytest.mark.parametrize("ahead", [False, True])
def test_reconcile_reports_what_differs_and_repairs_it(emulated, engine_settings, elasticsearch, monkeypatch,
                                                       capsys, ahead):
    app, client = emulated, emulated.test_client()
    engine_settings = dataclasses.replace(engine_settings, elasticsearch_url=elasticsearch.url)
    for number in (0, 2, 3, 4):
        put(client, f"Patient/p{number}", _patient(f"p{number}", "Lee"))
    engine = app.extensions["fhir"].search.backend
    index = engine.index_name("Patient")
    engine.client.index(index=index, id="zz", document={"id": "zz"}, refresh=True)
    elasticsearch.unreachable = True
    put(client, "Patient/p1", _patient("p1", "Lee"))  # never indexed
    put(client, "Patient/p3", _patient("p3", "Leem"))  # the index keeps version 1
    elasticsearch.unreachable = False
    _lose_the_outbox(app)
    if ahead:  # as if the database had been restored from an older backup
        engine.client.index(index=index, id="p2", document={"id": "p2"}, version=7, version_type="external",
                            refresh=True)
    assert _run(monkeypatch, engine_settings, "reconcile", "--type", "Patient") == 1
    report = capsys.readouterr().out
    assert (f"Patient: 1 missing from the index, 1 in the index only, 1 older and {int(ahead)} newer in the index"
            in report)
    assert "missing: p1" in report and "extra: zz" in report and "stale: p3" in report
    assert ("ahead: p2" in report) == ahead
    assert _run(monkeypatch, engine_settings, "reconcile", "--repair") == 0
    assert "index and database agree" in capsys.readouterr().out.splitlines()[-1]
    assert sorted(_ids(client, "Patient?family=lee")) == ["p0", "p1", "p2", "p3", "p4"]
    assert _ids(client, "Patient?family:exact=Leem") == ["p3"]
    assert _run(monkeypatch, engine_settings, "reconcile") == 0


def test_repair_rebuilds_the_index_when_the_engine_will_not_write_over_a_document(app, client, engine_settings,
                                                                                  monkeypatch, capsys):
    put(client, "Patient/p1", _patient("p1", "Yoon"))
    engine = app.extensions["fhir"].search.backend
    engine.client.delete(index=engine.index_name("Patient"), id="p1", refresh=True)  # a tombstone at version 2
    assert _run(monkeypatch, engine_settings, "reconcile", "--repair") == 0
    assert "missing: p1" in capsys.readouterr().out
    assert _ids(client, "Patient?family=yoon") == ["p1"]


def test_reindex_rebuilds_a_lost_index_from_the_database(app, client, engine_settings, monkeypatch, capsys):
    for number in range(7):
        put(client, f"Observation/o{number}", {"resourceType": "Observation", "id": f"o{number}", "status": "final",
                                               "code": {"text": "glucose"}, "subject": {"reference": "Patient/x"}})
    client.delete("/fhir/Observation/o3")
    engine = app.extensions["fhir"].search.backend
    for concrete in engine.client.indices.get_alias(name=engine.index_name("Observation")):
        engine.client.indices.delete(index=concrete)
    assert _run(monkeypatch, engine_settings, "reindex", "--search-engine", "--type", "Observation") == 0
    assert "6 documents written" in capsys.readouterr().out
    assert sorted(_ids(client, "Observation?subject=Patient/x&_count=100")) == ["o0", "o1", "o2", "o4", "o5", "o6"]
    assert engine.client.count(index=engine.index_name("Observation"))["count"] == 6


def test_text_searches_the_narrative_and_content_searches_every_string(client):
    put(client, "Patient/n", _patient("n", "Park", text={
        "status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml"><b>Diabetic</b> since 2010</div>'}))
    put(client, "Patient/c", _patient("c", "Diabetic", address=[{"city": "Seoul"}]))
    assert _ids(client, "Patient?_text=diabetic") == ["n"]
    assert sorted(_ids(client, "Patient?_content=diabetic")) == ["c", "n"]
    assert _ids(client, "Patient?_content=seoul diabetic") == ["c"]  # every word, in any string
    assert _ids(client, "Patient?_text=b") == []  # markup is not text


def _declared(client, resource_type: str) -> set[str]:
    statement = client.get("/fhir/metadata").get_json(force=True)
    described = next(kind for kind in statement["rest"][0]["resource"] if kind["type"] == resource_type)
    return {parameter["name"] for parameter in described["searchParam"]}


def test_the_capability_statement_declares_full_text_on_elasticsearch_only(client, database_url):
    assert {"_text", "_content"} <= _declared(client, "Observation")
    app = create_app(Settings(database_url=database_url))
    assert not {"_text", "_content"} & _declared(app.test_client(), "Observation")
    app.extensions["fhir"].repository.database.dispose()


def test_text_on_the_sql_backend_is_400(database_url):
    app = create_app(Settings(database_url=database_url))
    assert_outcome(app.test_client().get("/fhir/Patient?_text=diabetic"), 400, "full-text search")
    app.extensions["fhir"].repository.database.dispose()


def test_wildcards_and_backslashes_in_values_match_only_themselves(client):
    for id_, family in (("star", "a*b"), ("mark", "a?c"), ("plain", "abc"), ("slash", "a\\b")):
        put(client, f"Patient/{id_}", _patient(id_, family))
    assert _ids(client, "Patient?family:contains=*") == ["star"]
    assert _ids(client, "Patient?family:contains=%3F") == ["mark"]
    assert _ids(client, "Patient?family=a*") == ["star"]
    assert _ids(client, "Patient?family:contains=%5C") == ["slash"]
    assert sorted(_ids(client, "Patient?family=a")) == ["mark", "plain", "slash", "star"]


def test_chains_and_has_collect_every_match_over_many_pages(client, monkeypatch):
    monkeypatch.setattr(backend_module, "PAGE", 3)  # so that 12 matches take five requests
    monkeypatch.setattr(backend_module, "TERMS", 2)
    for number in range(12):
        gender = "female" if number % 3 else "male"
        put(client, f"Patient/p{number}", _patient(f"p{number}", "Choi", gender=gender))
        put(client, f"Observation/o{number}", {"resourceType": "Observation", "id": f"o{number}", "status": "final",
                                               "code": {"text": "x"}, "subject": {"reference": f"Patient/p{number}"}})
    females = {f"o{number}" for number in range(12) if number % 3}
    assert set(_ids(client, "Observation?patient.gender=female&_count=100")) == females
    assert len(_ids(client, "Patient?_has:Observation:patient:status=final&_count=100")) == 12
    assert client.get("/fhir/Observation?patient.gender=female&_summary=count").get_json(force=True)["total"] == 8


def test_two_processes_creating_a_type_s_index_at_once_share_one(engine_settings, monkeypatch):
    first, second = (build_context(engine_settings) for _ in range(2))
    first.search.backend.ensure_index("Patient")
    # The second looked before the first created it: it tries too, and is told the index exists.
    monkeypatch.setattr(second.search.backend.client.indices, "exists", lambda **_: False)
    second.search.backend.ensure_index("Patient")
    alias = second.search.backend.index_name("Patient")
    assert len(first.search.backend.client.indices.get_alias(name=alias)) == 1
    for context in (first, second):
        context.repository.database.dispose()


def test_a_write_whose_push_fails_unexpectedly_still_answers_201_and_waits_in_the_outbox(app, client, monkeypatch):
    from fhir_server.search.backends import elasticsearch_documents

    def broken(*args, **kwargs):
        raise RuntimeError("a bug in building the document")

    monkeypatch.setattr(elasticsearch_documents, "document", broken)
    app.extensions["fhir"].repository.outbox.stop()  # no retries while the bug lasts
    assert put(client, "Patient/kept", _patient("kept", "Seo")).status_code == 201
    assert client.get("/fhir/Patient/kept").status_code == 200 and _waiting(app) == 1
    monkeypatch.undo()
    assert app.extensions["fhir"].repository.outbox.drain() == 1
    assert _ids(client, "Patient?family=seo") == ["kept"]
