"""Many rows at once: what goes in comes back as it was, by executemany or (PostgreSQL, many rows) by COPY, and a
failing COPY raises what a failing INSERT raises, without the values."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fhir_server.storage.database import Database
from fhir_server.storage.inserts import COPY_FROM, insert_many
from fhir_server.storage.tables import resource_versions, resources, search_composite, search_quantity

AWKWARD = ["tab\there", "new\nline", "back\\slash", "quote ' \" ", "\\N", "", "한국어 검사", "\r\n", "emoji 🩺"]


def _versions(count: int) -> list[dict]:
    return [{"resource_type": "Observation", "id": f"o{number}", "version_id": 1, "last_updated": 1_764_590_000_000 +
             number, "method": "PUT", "body": bytes(range(256)) + AWKWARD[number % len(AWKWARD)].encode()}
            for number in range(count)]


@pytest.mark.parametrize("count", [3, COPY_FROM + 7])
def test_rows_inserted_at_once_come_back_as_they_were(database_url, count):
    quantities = [{"resource_type": "Observation", "resource_id": f"o{number}", "param": "value-quantity",
                   "value": number / 3 if number % 4 else -1e-300, "system": AWKWARD[number % len(AWKWARD)],
                   "code": None if number % 2 else "mg/dL", "unit": None} for number in range(count)]
    versions = _versions(count)
    database = Database(database_url)
    try:
        with database.write() as connection:
            insert_many(connection, search_quantity, quantities)
            insert_many(connection, resource_versions, versions)
        with database.read() as connection:
            stored = [dict(row) for row in connection.execute(select(search_quantity)).mappings()]
            bodies = {row.id: row.body for row in connection.execute(select(resource_versions))}
    finally:
        database.dispose()
    assert sorted(stored, key=lambda row: row["resource_id"]) == sorted(quantities, key=lambda row: row["resource_id"])
    assert bodies == {row["id"]: row["body"] for row in versions}


def test_batches_with_and_without_values_in_a_column_come_back_as_they_were(database_url):
    # A column without a value in any row of a batch is left out of its INSERT (NULL by default), whatever
    # columns the batch before it had values in.
    empty = {column.name: None for column in search_composite.columns}

    def row(number: int, **values) -> dict:
        return {**empty, "resource_type": "Observation", "resource_id": f"o{number}", "param": "code-value-quantity",
                **values}
    batches = [[row(1, c1_code="718-7", c2_number=13.5), row(2, c1_code="718-7", c3_unit="g/dL")],
               [row(3, c1_code="4548-4"), row(4)],
               [row(5, c3_unit="%", c2_number=None), row(6, c1_text="Hb")]]
    database = Database(database_url)
    try:
        for batch in batches:
            with database.write() as connection:
                insert_many(connection, search_composite, batch)
        with database.read() as connection:
            stored = [dict(row) for row in connection.execute(select(search_composite)).mappings()]
    finally:
        database.dispose()
    assert sorted(stored, key=lambda row: row["resource_id"]) == [row for batch in batches for row in batch]


@pytest.mark.parametrize("count", [3, COPY_FROM + 7])
def test_a_duplicate_key_is_an_integrity_error_that_does_not_repeat_the_values(database_url, count):
    rows = [{"resource_type": "Patient", "id": f"secret-{number}", "version_id": 1, "last_updated": 0,
             "deleted": False} for number in range(count)]
    database = Database(database_url)
    try:
        with database.write() as connection:
            insert_many(connection, resources, rows)
        with pytest.raises(IntegrityError) as raised:
            with database.write() as connection:
                insert_many(connection, resources, rows)
        assert "secret" not in str(raised.value)
        with database.read() as connection:  # the failed transaction left nothing, and the connection works
            assert connection.execute(select(resources.c.id)).all().__len__() == count
    finally:
        database.dispose()
