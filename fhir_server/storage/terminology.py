"""The terminology tables search reads (closure, value set members) and what was published into them.

Each code system hierarchy or value set expansion is replaced whole, in one transaction, and only when
its fingerprint changed, so `fhir-server init-db` on an unchanged terminology costs one SELECT.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterable

from sqlalchemy import Connection, delete, select

from fhir_server.storage.inserts import insert_many
from fhir_server.storage.tables import terminology_closure, terminology_members, terminology_published

_BATCH = 20_000


def published(connection: Connection) -> dict[str, str]:
    """name -> fingerprint of everything published."""
    return dict(connection.execute(select(terminology_published.c.name, terminology_published.c.fingerprint)).all())


def replace_closure(connection: Connection, system: str, pairs: Iterable[tuple[str, str]], fingerprint: str) -> None:
    connection.execute(delete(terminology_closure).where(terminology_closure.c.system == system))
    _insert(connection, terminology_closure,
            ({"system": system, "ancestor": ancestor, "descendant": descendant} for ancestor, descendant in pairs))
    mark(connection, system, "closure", fingerprint)


def replace_members(connection: Connection, value_set: str, members: Iterable[tuple[str, str]],
                    fingerprint: str) -> None:
    connection.execute(delete(terminology_members).where(terminology_members.c.value_set == value_set))
    _insert(connection, terminology_members,
            ({"value_set": value_set, "system": system, "code": code} for system, code in members))
    mark(connection, value_set, "members", fingerprint)


def mark(connection: Connection, name: str, kind: str, fingerprint: str) -> None:
    connection.execute(delete(terminology_published).where(terminology_published.c.name == name))
    connection.execute(terminology_published.insert().values(name=name, kind=kind, fingerprint=fingerprint))


def _insert(connection: Connection, table, rows: Iterable[dict]) -> None:
    rows = iter(rows)
    while batch := list(islice(rows, _BATCH)):
        insert_many(connection, table, batch)
