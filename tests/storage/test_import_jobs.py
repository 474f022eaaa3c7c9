"""The import_jobs table: a job's progress is what any server process reports, and a running job that stops
making progress (its server stopped) reads as interrupted."""

from fhir_server.storage import import_jobs
from fhir_server.storage.database import Database
from fhir_server.storage.tables import import_jobs as table


def test_a_job_records_its_progress_and_end(database_url):
    database = Database(database_url)
    import_jobs.create(database, "j1", "tabular", {"spec": "korean-hospital"})
    import_jobs.record(database, "j1", summary={"read": 5})
    running = import_jobs.get(database, "j1")
    assert (running.state, running.summary, running.options, running.interrupted) == (
        "running", {"read": 5}, {"spec": "korean-hospital"}, False)
    import_jobs.record(database, "j1", summary={"read": 9}, state="failed", message="OSError: disk full")
    assert (import_jobs.get(database, "j1").state, import_jobs.get(database, "j1").message) == (
        "failed", "OSError: disk full")
    assert import_jobs.get(database, "nope") is None
    database.dispose()


def test_a_running_job_without_progress_for_two_minutes_was_interrupted(database_url):
    database = Database(database_url)
    import_jobs.create(database, "j2", "vcf", {})
    with database.write() as connection:
        stale = import_jobs._now_ms() - 121_000
        connection.execute(table.update().where(table.c.id == "j2").values(updated=stale))
    assert import_jobs.get(database, "j2").interrupted
    assert [job.id for job in import_jobs.newest(database)] == ["j2"]
    database.dispose()


def test_a_stale_job_is_taken_over_by_one_worker_and_the_old_one_loses_it(database_url):
    database = Database(database_url)
    import_jobs.create(database, "j3", "ndjson", {}, owner="first")
    assert import_jobs.touch(database, "j3", "first") and import_jobs.stale(database, lease_ms=60_000) == []
    with database.write() as connection:
        connection.execute(table.update().where(table.c.id == "j3").values(updated=import_jobs._now_ms() - 61_000))
    (seen,) = import_jobs.stale(database, lease_ms=60_000)
    assert import_jobs.take_over(database, seen, "second")
    assert not import_jobs.take_over(database, seen, "third")  # the row changed since it was read
    assert not import_jobs.touch(database, "j3", "first")
    assert not import_jobs.record(database, "j3", summary={"read": 1}, owner="first")
    assert import_jobs.record(database, "j3", summary={"read": 2}, owner="second")
    assert (import_jobs.get(database, "j3").owner, import_jobs.get(database, "j3").summary) == ("second", {"read": 2})
    database.dispose()
