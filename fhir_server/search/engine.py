"""The search engine handlers talk to: registry, index extraction, query parsing and the backend.

The registry holds the R4 SearchParameters and the active ones stored on this server
(https://hl7.org/fhir/R4/searchparameter.html). Every write transaction and every search first
checks a cheap marker (the newest SearchParameter write) and rebuilds the registry when it moved,
so a parameter stored through any process applies to the next write; `reindex` applies it to
resources stored before.
"""

from __future__ import annotations

import re
import threading

from sqlalchemy import Connection

from fhir_server import json_codec
from fhir_server.errors import Unprocessable
from fhir_server.definitions import r4
from fhir_server.search import fhirpath
from fhir_server.search import parameters as search_parameters

from fhir_server.search import query as search_query
from fhir_server.search import include as search_include
from fhir_server.search import results
from fhir_server.search.backends import SearchBackend, sql, sql_terminology
from fhir_server.search.index import SearchIndex
from fhir_server.search.parameters import Registry
from fhir_server.search.query import SearchQuery
from fhir_server.storage.versions import StoredVersion, current_bodies, latest_change

_CODE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]*")  # no `.` or `:`: those start chains and modifiers
_INDEXED_TYPES = frozenset({"string", "token", "date", "number", "quantity", "reference", "uri", "composite"})


class SearchEngine:
    """``backend`` answers searches and counts (the SQL index, or Elasticsearch when configured); lookups
    that must see a write transaction's own rows (conditional writes, includes, compartments) use the SQL
    index, which is always kept."""

    def __init__(self, resource_types: tuple[str, ...], backend: SearchBackend | None = None):
        self._resource_types = resource_types
        self.backend: SearchBackend = backend or sql.SqlBackend()
        self._lock = threading.Lock()
        self._marker: int | None = None  # latest_change of SearchParameter when the registry was built
        self._build([])

    def _build(self, custom: list[dict]) -> None:
        registry = Registry(custom + r4()["searchParameters"], self._resource_types)
        self.registry, self.index, self._has_custom = registry, SearchIndex(registry, self._resource_types), bool(custom)

    def index_types(self) -> tuple[str, ...]:
        return self._resource_types

    def refresh(self, connection: Connection) -> None:
        """Rebuild the registry if SearchParameters were written since it was built (by any process)."""
        marker = latest_change(connection, "SearchParameter")
        if marker == self._marker:
            return
        with self._lock:
            if marker != self._marker:
                stored = [json_codec.parse(body) for body in current_bodies(connection, "SearchParameter")]
                self._build([search_parameters.definition_of(resource) for resource in stored
                             if search_parameters.is_in_effect(resource) and not self._problems(resource)])
                self._marker = marker

    def uses_prepared_rows(self, resource_type: str) -> bool:
        """Whether rows extracted before the write under R4's parameters are a resource's rows (not while a custom
        SearchParameter is in effect, nor for a SearchParameter, whose write checks it)."""
        return not self._has_custom and resource_type != "SearchParameter"

    def prepared_rows(self, resource: dict) -> dict[str, list[dict]] | None:
        """The index rows of a valid resource about to be written, computed before its transaction so that the
        write holds the database's lock the shorter; None where the write computes them itself
        (:meth:`uses_prepared_rows`)."""
        if not self.uses_prepared_rows(resource["resourceType"]):
            return None
        return self.index.rows_before_write(resource)

    def index_rows(self, resource_type: str, id_: str, resource: dict,
                   prepared: dict[str, list[dict]] | None = None) -> dict[str, list[dict]]:
        """The index rows of a resource as stored. ``prepared`` are its rows from R4's parameters alone, computed
        before the write (by :meth:`prepared_rows` or a validation worker); they are used while no custom
        SearchParameter is in effect."""
        if prepared is not None and self.uses_prepared_rows(resource_type):
            for table_rows in prepared.values():
                if table_rows and table_rows[0]["resource_id"] != id_:  # a created resource's id is new
                    for row in table_rows:
                        row["resource_id"] = id_
            return prepared
        if resource_type == "SearchParameter" and search_parameters.is_in_effect(resource):
            problems = self._problems(resource)
            if problems:
                raise Unprocessable(f"SearchParameter `{resource.get('url')}` cannot be used: {'; '.join(problems)}.",
                                    expression=("SearchParameter",))
        return self.index.rows(resource_type, id_, resource)

    def _problems(self, resource: dict) -> list[str]:
        """What keeps an active SearchParameter from being indexed, checked when it is written."""
        problems = []
        if not _CODE.fullmatch(resource.get("code", "")):
            problems.append(f"code `{resource.get('code')}` is not a search parameter name")
        if resource.get("type") not in _INDEXED_TYPES:
            problems.append(f"type `{resource.get('type')}` is not one this server indexes")
        bases = resource.get("base", [])
        unknown = [base for base in bases if base not in self._resource_types and base not in ("Resource", "DomainResource")]
        if unknown:
            problems.append(f"base {', '.join(f'`{base}`' for base in unknown)} is not a supported resource type")
        expression = resource.get("expression")
        if not expression:
            problems.append("it has no expression")
        else:
            for base in (base for base in bases if base in self._resource_types):
                problem = fhirpath.problem_with(expression, base)
                if problem:
                    problems.append(f"expression `{expression}` fails on `{base}`: {problem}")
                    break
        return problems

    def supported_parameters(self, resource_type: str) -> list[tuple[str, str, str]]:
        """(code, type, definition url) of each parameter a search on this type honours; `_text` and
        `_content` where the backend offers full text."""
        return [(parameter.code, parameter.type, parameter.url) for parameter in self.registry.for_type(resource_type)
                if self.index.supports(resource_type, parameter.code)
                or (self.backend.full_text and parameter.code in search_query.FULL_TEXT)]

    def parse(self, resource_type: str, params: list[tuple[str, str]], *, strict: bool,
              base_url: str = "") -> SearchQuery:
        return search_query.parse(resource_type, params, self.registry, self.index, strict=strict, base_url=base_url,
                                  full_text=self.backend.full_text)

    def result_parameters(self, resource_type: str, params: list[tuple[str, str]],
                          is_type) -> results.ResultParameters:
        return results.parse(params, self.registry, is_type, resource_type, self.index)

    def count(self, connection: Connection, query: SearchQuery) -> int:
        return self.backend.count(connection, query)

    def included(self, connection: Connection, matches: list[StoredVersion], includes: list[results.Include],
                 limit: int, visible=None) -> list[StoredVersion]:
        return search_include.included(_SqlReferences(self.index), connection, matches, includes, limit, visible)

    def find_ids(self, connection: Connection, query: SearchQuery, limit: int) -> list[str]:
        sql_terminology.check(connection, query)
        return sql.find_ids(connection, query, limit)

    def search(self, connection: Connection, query: SearchQuery, *, sort: list[results.SortKey] = (),
               cursor=None, limit: int) -> list[tuple[StoredVersion, list]]:
        """A page of matches, each with its cursor values (sort values, then id); a backward cursor's
        page comes nearest-first, walking back."""
        return self.backend.search(connection, query, sort=sort, cursor=cursor, limit=limit)

    def search_database(self, connection: Connection, query: SearchQuery, *, sort: list[results.SortKey] = (),
                        cursor=None, limit: int) -> list[tuple[StoredVersion, list]]:
        """:meth:`search` over the SQL index whatever the backend: for readers that must see one database
        snapshot exactly (bulk export, its de-identified kind)."""
        return sql.SqlBackend().search(connection, query, sort=sort, cursor=cursor, limit=limit)


class _SqlReferences:
    """The reference lookups include.py needs, answered by the SQL backend."""

    referenced = staticmethod(sql.referenced)
    current_versions = staticmethod(sql.current_versions_of)

    def __init__(self, index: SearchIndex):
        self._index = index

    def referencing(self, connection: Connection, source_type: str, code: str, target_type: str | None,
                    targets: list[tuple[str, str]]) -> set[tuple[str, str]]:
        """Code `*` is each reference parameter of ``source_type``: the reference index is found by parameter first."""
        params = (code,) if code != "*" else tuple(
            field_code for field_code, kind, _ in self._index.fields(source_type) if kind == "reference")
        return sql.referencing(connection, source_type, params, target_type, targets) if params else set()
