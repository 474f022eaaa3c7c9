"""Search backends: each compiles a SearchQuery for its engine."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Connection

from fhir_server.search.query import SearchQuery
from fhir_server.storage.versions import StoredVersion


class SearchBackend(Protocol):
    """What answers searches: the SQL index tables (``sql.SqlBackend``) or Elasticsearch
    (``elasticsearch.ElasticsearchBackend``). Both pass the same contract suite, tests/search/test_contract.py."""

    full_text: bool  # whether `_text` and `_content` are honoured

    def count(self, connection: Connection, query: SearchQuery) -> int: ...

    def search(self, connection: Connection, query: SearchQuery, *, sort=(), cursor=None,
               limit: int) -> list[tuple[StoredVersion, list]]:
        """A page of matches, each with its cursor values (sort values, then id); a backward cursor's
        page comes nearest-first, walking back."""
