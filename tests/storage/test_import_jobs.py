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
