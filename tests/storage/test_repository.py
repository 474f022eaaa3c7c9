"""Versioned storage without HTTP."""

import threading
import time

import pytest

from fhir_server.errors import Gone, NotFound, PreconditionFailed
from fhir_server.storage.database import Database
from fhir_server.storage.ids import new_id
from fhir_server.storage.repository import Repository


@pytest.fixture
def repository(database_url):
    repository = Repository(Database(database_url))
    yield repository
    repository.database.dispose()


def test_every_version_is_kept_as_served_bytes(repository):
    with repository.write() as session:
        first = session.create({"resourceType": "Patient", "gender": "male"})
    with repository.write() as session:
        second, outcome = session.update({"resourceType": "Patient", "id": first.id, "gender": "female"}, first.id)
    assert outcome == "updated" and second.version_id == 2
    assert repository.vread("Patient", first.id, 1).body == first.body
    assert repository.read("Patient", first.id).body == second.body
    assert b'"versionId":"2"' in second.body


def test_an_update_that_changes_nothing_keeps_the_version_and_says_so(repository):
    with repository.write() as session:
        first = session.create({"resourceType": "Patient", "gender": "male"})
    with repository.write() as session:
        same, outcome = session.update({"resourceType": "Patient", "id": first.id, "gender": "male"}, first.id)
    assert outcome == "unchanged" and same.version_id == 1 and same.body == first.body
    with repository.write() as session:
        _, outcome = session.update({"resourceType": "Patient", "id": "new-one"}, "new-one")
    assert outcome == "created"


def test_a_failed_transaction_writes_nothing(repository):
    with pytest.raises(RuntimeError):
        with repository.write() as session:
            created = session.create({"resourceType": "Patient"})
            raise RuntimeError("abort")
    with pytest.raises(NotFound):
        repository.read("Patient", created.id)


def test_delete_then_read_is_gone(repository):
    with repository.write() as session:
        version = session.create({"resourceType": "Patient"})
    with repository.write() as session:
        deletion = session.delete("Patient", version.id)
    assert deletion.version_id == 2 and deletion.deleted
    with pytest.raises(Gone):
        repository.read("Patient", version.id)


def test_if_match_must_name_the_current_version(repository):
    with repository.write() as session:
        version = session.create({"resourceType": "Patient"})
    with pytest.raises(PreconditionFailed):
        with repository.write() as session:
            session.update({"resourceType": "Patient", "id": version.id, "active": True}, version.id, if_match=2)


def test_history_is_newest_first_and_pages_by_cursor(repository):
    with repository.write() as session:
        ids = [session.create({"resourceType": "Patient"}).id for _ in range(5)]
    first_page = repository.history(resource_type="Patient", limit=3)
    second_page = repository.history(resource_type="Patient", limit=3, before_seq=first_page[-1].seq)
    assert [version.id for version in first_page + second_page] == list(reversed(ids))


def test_new_ids_are_unique_and_valid():
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(id_) == 22 and id_.isalnum() and id_.islower() or id_.isdigit() for id_ in ids)


def test_ids_of_later_milliseconds_sort_later():
    earlier = new_id()
    time.sleep(0.002)
    assert new_id() > earlier


def test_prefetched_current_versions_answer_as_single_lookups_and_then_see_the_session_s_writes(repository):
    with repository.write() as session:
        kept = session.create({"resourceType": "Patient", "gender": "male"})
        gone = session.create({"resourceType": "Patient"})
    with repository.write() as session:
        session.delete("Patient", gone.id)
    keys = [("Patient", kept.id), ("Patient", gone.id), ("Patient", "never-stored"), ("Observation", kept.id)]
    with repository.write() as session:
        single = {key: session.current(*key) for key in keys}
    with repository.write() as session:
        session.prefetch(keys * 2)
        assert {key: session.current(*key) for key in keys} == single
        assert single[("Patient", gone.id)].deleted and single[("Patient", "never-stored")] is None
        session.prefetch([("Patient", kept.id)])
        updated, _ = session.update({"resourceType": "Patient", "id": kept.id, "gender": "female"}, kept.id)
        session.prefetch([("Patient", kept.id)])  # written in this session: looked up afresh, after the write
        current = session.current("Patient", kept.id)
        assert (current.version_id, current.body) == (updated.version_id, updated.body) and updated.version_id == 2


def test_a_prefetch_holds_its_resources_until_commit_so_concurrent_updates_get_consecutive_versions(repository):
    with repository.write() as session:
        version = session.create({"resourceType": "Patient"})
    prefetched, finished = threading.Event(), []

    def other_writer():
        prefetched.wait(10)
        with repository.write() as session:
            finished.append(session.update({"resourceType": "Patient", "id": version.id, "active": False},
                                           version.id)[0].version_id)

    thread = threading.Thread(target=other_writer)
    thread.start()
    with repository.write() as session:
        session.prefetch([("Patient", version.id)])
        prefetched.set()
        time.sleep(0.3)
        assert finished == []  # the other writer waits for this transaction
        session.update({"resourceType": "Patient", "id": version.id, "active": True}, version.id)
    thread.join(10)
    assert finished == [3]
