"""The search engine handlers talk to: registry, index extraction, query parsing and the backend."""

from __future__ import annotations

from sqlalchemy import Connection

from fhir_server.search import query as search_query
from fhir_server.search import include as search_include
from fhir_server.search import results
from fhir_server.search.backends import sql
from fhir_server.search.index import SearchIndex
from fhir_server.search.parameters import Registry
from fhir_server.search.query import SearchQuery
from fhir_server.storage.repository import StoredVersion


class SearchEngine:
    def __init__(self, resource_types: tuple[str, ...]):
        self.registry = Registry.r4(resource_types)
        self.index = SearchIndex(self.registry, resource_types)

    def index_rows(self, resource_type: str, id_: str, resource: dict) -> dict[str, list[dict]]:
        return self.index.rows(resource_type, id_, resource)

    def supported_parameters(self, resource_type: str) -> list[tuple[str, str, str]]:
        """(code, type, definition url) of each parameter a search on this type honours."""
        return [(parameter.code, parameter.type, parameter.url) for parameter in self.registry.for_type(resource_type)
                if self.index.supports(resource_type, parameter.code)]

    def parse(self, resource_type: str, params: list[tuple[str, str]], *, strict: bool,
              base_url: str = "") -> SearchQuery:
        return search_query.parse(resource_type, params, self.registry, self.index, strict=strict, base_url=base_url)

    def result_parameters(self, resource_type: str, params: list[tuple[str, str]],
                          is_type) -> results.ResultParameters:
        return results.parse(params, self.registry, is_type, resource_type, self.index.supports)

    def count(self, connection: Connection, query: SearchQuery) -> int:
        return sql.count(connection, query)

    def included(self, connection: Connection, matches: list[StoredVersion], includes: list[results.Include],
                 limit: int) -> list[StoredVersion]:
        return search_include.included(_SqlReferences, connection, matches, includes, limit)

    def find_ids(self, connection: Connection, query: SearchQuery, limit: int) -> list[str]:
        return sql.find_ids(connection, query, limit)

    def search(self, connection: Connection, query: SearchQuery, *, sort: list[results.SortKey] = (),
               cursor=None, limit: int) -> list[tuple[StoredVersion, list]]:
        """A page of matches, each with its cursor values (sort values, then id); a backward cursor's
        page comes nearest-first, walking back."""
        return sql.search(connection, query, sort=sort, cursor=cursor, limit=limit)


class _SqlReferences:
    """The reference lookups include.py needs, answered by the SQL backend."""

    referenced = staticmethod(sql.referenced)
    referencing = staticmethod(sql.referencing)
    current_versions = staticmethod(sql.current_versions_of)
