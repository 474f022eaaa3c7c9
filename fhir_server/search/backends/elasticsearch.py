"""The Elasticsearch search backend: a SearchQuery compiled to query DSL (``elasticsearch_query.py``)
over one index per resource type (``elasticsearch_documents.py``).

Matches come back as ids in order; the page's resources are then read from the database, so a
response is built from the stored bytes and a resource deleted since it was indexed is left out.
Pages continue with ``search_after`` on the sort values and the id (no 10,000-hit window); chains
and ``_has`` collect the ids they match on the other index in full, in pages, never a capped sample.
"""

from __future__ import annotations

import logging
import threading
from typing import Iterator

from elasticsearch import ApiError, Elasticsearch, TransportError
from sqlalchemy import Connection

from fhir_server.errors import Unavailable
from fhir_server.search.backends import sql, sql_terminology
from fhir_server.search.backends import elasticsearch_documents as documents
from fhir_server.search.backends.elasticsearch_query import MATCH_ALL, MATCH_NONE, compile_node
from fhir_server.search.query import Chain, Has, Node, SearchQuery
from fhir_server.search.results import SortKey
from fhir_server.settings import Settings
from fhir_server.storage.versions import StoredVersion

log = logging.getLogger(__name__)
PAGE = 10_000  # hits per request while collecting a chain's or _has's ids: the engine's default window
TERMS = 10_000  # ids per `terms` query, well under index.max_terms_count (65,536)
POINT_IN_TIME_KEEP_ALIVE = "2m"  # between two requests of one scan, not the whole scan
_LONG_MAX, _LONG_MIN = 2 ** 63 - 1, -(2 ** 63)


def connect(settings: Settings) -> Elasticsearch:
    options: dict = {"request_timeout": 60, "retry_on_timeout": True, "max_retries": 2}
    if settings.elasticsearch_api_key:
        options["api_key"] = settings.elasticsearch_api_key
    if settings.elasticsearch_username:
        options["basic_auth"] = (settings.elasticsearch_username, settings.elasticsearch_password)
    if settings.elasticsearch_ca_file:
        options["ca_certs"] = settings.elasticsearch_ca_file
    return Elasticsearch([url.strip() for url in settings.elasticsearch_url.split(",") if url.strip()], **options)


class ElasticsearchBackend:
    full_text = True

    def __init__(self, settings: Settings, search_index):
        self.client = connect(settings)
        self.prefix = settings.elasticsearch_index_prefix
        if settings.elasticsearch_refresh not in ("wait_for", "false", "true"):
            raise ValueError(f"FHIR_SERVER_ELASTICSEARCH_REFRESH must be wait_for, false or true, not "
                             f"{settings.elasticsearch_refresh!r}")
        self.refresh = settings.elasticsearch_refresh
        self._search_index = search_index  # () -> the engine's current SearchIndex (it changes with the registry)
        self._mapped: dict[str, object] = {}  # resource type -> the SearchIndex its mapping was last put for
        self._lock = threading.Lock()
        self.points_in_time = True  # until the engine says it has none

    def index_name(self, resource_type: str) -> str:
        """The alias searches and writes use; it points at the type's current concrete index."""
        return self.prefix + resource_type.lower()

    def new_index(self, resource_type: str, version: str, alias: bool) -> str:
        """Create a concrete index for the type (``fhir-patient-<version>``), mapped from the current
        registry; with ``alias``, the type's alias points at it at once."""
        name = f"{self.index_name(resource_type)}-{version}"
        mapping = documents.mappings(self._search_index().fields(resource_type))
        self.client.indices.create(index=name, settings=documents.SETTINGS, mappings=mapping,
                                   aliases={self.index_name(resource_type): {}} if alias else None)
        return name

    def ensure_index(self, resource_type: str) -> None:
        """Create the type's index, or add the fields of SearchParameters stored since its mapping was put."""
        search_index = self._search_index()
        if self._mapped.get(resource_type) is search_index:
            return
        with self._lock:
            name = self.index_name(resource_type)
            if not self.client.indices.exists(index=name):
                try:  # one name for every process: of two creating it at once, one is told it exists
                    self.new_index(resource_type, "1", alias=True)
                except ApiError as error:
                    if error.status_code != 400 or "already_exists" not in str(error):
                        raise
            else:
                self.client.indices.put_mapping(
                    index=name, properties=documents.mappings(search_index.fields(resource_type))["properties"])
            self._mapped[resource_type] = search_index

    def existing_indexes(self) -> set[str]:
        """The aliases (and any concrete index without one) under this server's prefix."""
        found = set()
        for concrete, described in self.client.indices.get_alias(index=f"{self.prefix}*").items():
            found.update(described.get("aliases") or {concrete: None})
        return found

    def count(self, connection: Connection, query: SearchQuery) -> int:
        with _answering():
            self.ensure_index(query.resource_type)
            return self.client.count(index=self.index_name(query.resource_type),
                                     query=self._compile(connection, query))["count"]

    def search(self, connection: Connection, query: SearchQuery, *, sort: list[SortKey] = (), cursor=None,
               limit: int) -> list[tuple[StoredVersion, list]]:
        """A page of matches with their cursor values (sort values, then id); a backward cursor's page
        comes nearest-first. A value a resource lacks is None in the cursor, as in the SQL backend."""
        backward = cursor is not None and cursor.backward
        after = _search_after(sort, cursor.values) if cursor is not None else None
        page: list[tuple[StoredVersion, list]] = []
        with _answering():
            self.ensure_index(query.resource_type)
            compiled = self._compile(connection, query)
            while len(page) < limit:
                request = {"index": self.index_name(query.resource_type), "query": compiled,
                           "size": min(limit - len(page), PAGE),
                           "sort": _sort(sort, backward), "_source": False, "track_total_hits": False}
                if after is not None:
                    request["search_after"] = after
                hits = self.client.search(**request)["hits"]["hits"]
                page += self._stored(connection, query.resource_type, sort, hits)
                if len(hits) < request["size"]:
                    break
                after = hits[-1]["sort"]  # some hits were resources deleted since: fill the page up
        return page

    @staticmethod
    def _stored(connection: Connection, resource_type: str, sort: list[SortKey],
                hits: list[dict]) -> list[tuple[StoredVersion, list]]:
        """The hits' current versions from the database, in the hits' order, each with its cursor values;
        a resource the index still has but the database has deleted (its outbox row not yet pushed) is left out."""
        order = {hit["_id"]: _cursor_values(sort, hit["sort"]) for hit in hits}
        stored = {version.id: version for version in sql.current_versions_of(
            connection, {(resource_type, id_) for id_ in order})}
        return [(stored[id_], values) for id_, values in order.items() if id_ in stored]

    def _compile(self, connection: Connection, query: SearchQuery) -> dict:
        sql_terminology.check(connection, query)

        def terminology(modifier: str, value) -> dict[str, list[str]]:
            return sql_terminology.expansion(connection, modifier, value)

        def resolve(node: Node, resource_type: str) -> dict:
            return self._resolve(node, resource_type, terminology, resolve)

        return {"bool": {"filter": [compile_node(node, query.resource_type, terminology, resolve)
                                    for node in query.criteria]}}

    def _resolve(self, node: Chain | Has, resource_type: str, terminology, resolve) -> dict:
        """A chain or _has as a query on ids, from the full set of matches on the other index."""
        if isinstance(node, Chain):
            links = []
            for target_type, inner in node.targets:
                ids = [id_ for id_, _ in self._matches(target_type, compile_node(inner, target_type, terminology,
                                                                                 resolve))]
                links.append({"nested": {"path": f"p.{node.code}", "query": {"bool": {"filter": [
                    {"term": {f"p.{node.code}.target_type": target_type}}, _terms(f"p.{node.code}.target_id", ids)]}}}})
            return links[0] if len(links) == 1 else {"bool": {"should": links, "minimum_should_match": 1}}
        targets = set()
        inner = compile_node(node.inner, node.source_type, terminology, resolve)
        for _, source in self._matches(node.source_type, inner, fields=[f"p.{node.code}"]):
            targets.update(value["target_id"] for value in source.get("p", {}).get(node.code, ())
                           if value.get("target_type") == resource_type and "target_id" in value)
        return _terms("id", sorted(targets))

    def _matches(self, resource_type: str, query: dict, fields: list[str] | None = None) -> Iterator[tuple[str, dict]]:
        """Every (id, chosen source fields) matching ``query``."""
        for hit in self.scan(resource_type, query, fields=fields, size=PAGE):
            yield hit["_id"], hit.get("_source", {})

    def scan(self, resource_type: str, query: dict | None = None, *, fields: list[str] | None = None,
             version: bool = False, size: int = PAGE) -> Iterator[dict]:
        """Every hit of the type's index matching ``query``, in id order, in requests of ``size`` with
        ``search_after``; over one point in time where the engine offers it, so that writes meanwhile do not
        shift hits between requests."""
        self.ensure_index(resource_type)
        point_in_time = self._open_point_in_time(resource_type)
        after = None
        try:
            while True:
                request = {"query": query or MATCH_ALL, "size": size, "sort": [{"id": "asc"}],
                           "_source": fields or False, "version": version, "track_total_hits": False}
                if point_in_time is not None:
                    request["pit"] = {"id": point_in_time, "keep_alive": POINT_IN_TIME_KEEP_ALIVE}
                else:
                    request["index"] = self.index_name(resource_type)
                if after is not None:
                    request["search_after"] = after
                answer = self.client.search(**request)
                point_in_time = answer.get("pit_id", point_in_time)
                hits = answer["hits"]["hits"]
                yield from hits
                if len(hits) < size:
                    return
                after = hits[-1]["sort"]
        finally:
            if point_in_time is not None:
                self.client.close_point_in_time(id=point_in_time)

    def _open_point_in_time(self, resource_type: str) -> str | None:
        """A point in time over the type's index, or None where the engine has none (the emulator, and
        OpenSearch before 2.4, answer 400 or 404); asked once per process."""
        if not self.points_in_time:
            return None
        try:
            return self.client.open_point_in_time(index=self.index_name(resource_type),
                                                  keep_alive=POINT_IN_TIME_KEEP_ALIVE)["id"]
        except ApiError as error:
            if error.status_code not in (400, 404, 405):
                raise
            log.info("Elasticsearch offers no point in time (%s); paging without one", error.status_code)
            self.points_in_time = False
            return None


def _terms(field: str, values: list[str]) -> dict:
    if not values:
        return MATCH_NONE
    chunks = [{"terms": {field: values[start:start + TERMS]}} for start in range(0, len(values), TERMS)]
    return chunks[0] if len(chunks) == 1 else {"bool": {"should": chunks, "minimum_should_match": 1}}


def _field(key: SortKey) -> str:
    if key.kind == "_id":
        return "id"
    if key.kind == "_lastUpdated":
        return "last_updated"
    return f"sort.{key.code}.{'desc' if key.descending else 'asc'}"


def _sort(keys: list[SortKey], backward: bool) -> list[dict]:
    """Sort clauses, then id; resources without a value last in every direction (a backward page
    walks the same order the other way, so there they come first)."""
    clauses = []
    for key in keys:
        ascending = not key.descending if not backward else key.descending
        clause = {"order": "asc" if ascending else "desc", "missing": "_first" if backward else "_last"}
        if key.kind not in ("_id", "_lastUpdated"):
            clause["unmapped_type"] = "keyword"
        clauses.append({_field(key): clause})
    return clauses + [{"id": "desc" if backward else "asc"}]


def _missing(key: SortKey):
    """The value the engine sorts a resource without one by: past the end of the key's own order."""
    if not key.numeric:
        return None
    if key.kind in ("number", "quantity"):
        return "-Infinity" if key.descending else "Infinity"
    return _LONG_MIN if key.descending else _LONG_MAX


def _cursor_values(keys: list[SortKey], values: list) -> list:
    """The engine's sort values with its stand-ins for a missing value turned into None."""
    return [None if key.numeric and value == _missing(key) else value for key, value in zip(keys, values)] + \
        values[len(keys):]


def _search_after(keys: list[SortKey], values: list) -> list:
    return [(_missing(key) if value is None else value) for key, value in zip(keys, values)] + values[len(keys):]


class _answering:
    """Turns an unreachable or failing cluster into a 503 for the client, with the cause in the log."""

    def __enter__(self):
        return self

    def __exit__(self, kind, error, traceback) -> bool:
        if isinstance(error, (TransportError, ApiError)):
            log.warning("Elasticsearch failed a search: %s", error)
            raise Unavailable("The search engine is unavailable; retry shortly.") from error
        return False
