"""The SQL search backend: a SearchQuery compiled to one parameterized SELECT over the index tables."""

from __future__ import annotations

from sqlalchemy import Connection, and_, exists, or_, select

from fhir_server.search.query import Criterion, SearchQuery, TokenValue
from fhir_server.storage.repository import StoredVersion, current_versions
from fhir_server.storage.tables import resources, search_token


def _token_condition(value: TokenValue):
    conditions = []
    if value.code is not None:
        conditions.append(search_token.c.code == value.code)
    if not value.any_system:
        conditions.append(search_token.c.system.is_(None) if value.system is None
                          else search_token.c.system == value.system)
    return and_(*conditions)


def _criterion_condition(criterion: Criterion):
    if criterion.parameter == "_id":
        return resources.c.id.in_([value.code for value in criterion.values])
    return exists().where(
        search_token.c.resource_type == resources.c.resource_type,
        search_token.c.resource_id == resources.c.id,
        search_token.c.param == criterion.parameter,
        or_(*(_token_condition(value) for value in criterion.values)),
    )


def _where(query: SearchQuery):
    return [resources.c.resource_type == query.resource_type, resources.c.deleted.is_(False),
            *(_criterion_condition(criterion) for criterion in query.criteria)]


def find_ids(connection: Connection, query: SearchQuery, limit: int) -> list[str]:
    """Ids of current, non-deleted matches, at most ``limit``."""
    statement = select(resources.c.id).where(*_where(query)).order_by(resources.c.id).limit(limit)
    return list(connection.execute(statement).scalars())


def search(connection: Connection, query: SearchQuery, *, after_id: str | None, limit: int) -> list[StoredVersion]:
    """One page of matches in id order, after the keyset cursor ``after_id``."""
    statement = current_versions.where(*_where(query)).order_by(resources.c.id).limit(limit)
    if after_id is not None:
        statement = statement.where(resources.c.id > after_id)
    return [StoredVersion(*row) for row in connection.execute(statement)]
