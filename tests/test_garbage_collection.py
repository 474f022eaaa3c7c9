"""The garbage collector's thresholds during bulk jobs: raised while any job of the process runs, and back to
what they were once the last one ends, whichever ends first and even when a job fails."""

import gc
import threading

import pytest

from fhir_server import garbage_collection


@pytest.fixture
def default_thresholds():
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults
    yield (700, 10, 10)
    gc.set_threshold(*before)


def test_a_job_collects_less_often_and_restores_the_thresholds_it_found(default_thresholds):
    with garbage_collection.rarer_during_bulk_job():
        during = gc.get_threshold()
    assert during[0] > default_thresholds[0] * 10
    assert gc.get_threshold() == default_thresholds


def test_overlapping_jobs_restore_the_thresholds_when_the_last_one_ends_not_the_first(default_thresholds):
    first_started, second_started, first_ended = threading.Event(), threading.Event(), threading.Event()
    seen = {}

    def first():
        with garbage_collection.rarer_during_bulk_job():
            first_started.set()
            second_started.wait(5)
        first_ended.set()

    thread = threading.Thread(target=first)
    thread.start()
    first_started.wait(5)
    with garbage_collection.rarer_during_bulk_job():
        second_started.set()
        first_ended.wait(5)
        seen["after the first ended"] = gc.get_threshold()
    thread.join(5)
    assert seen["after the first ended"] == garbage_collection.BULK_THRESHOLDS
    assert gc.get_threshold() == default_thresholds


def test_a_failing_job_restores_the_thresholds(default_thresholds):
    with pytest.raises(RuntimeError):
        with garbage_collection.rarer_during_bulk_job():
            raise RuntimeError("the source went away")
    assert gc.get_threshold() == default_thresholds
