"""The SQL search backend: a SearchQuery compiled to one parameterized SELECT over the index tables.

Each criterion becomes ``id IN (SELECT resource_id FROM <type's table> WHERE ...)`` (NOT IN for
``:not`` and ``:missing=true``); chains and _has nest the same way. The semantics of each prefix
and modifier follow search.html.
"""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

from sqlalchemy import Connection, and_, exists, false, func, literal, not_, or_, select, true, union

from fhir_server.search.backends import sql_terminology
from fhir_server.search.backends.sql_conditions import CONDITIONS
from fhir_server.search.query import COLUMN_KINDS, AllOf, AnyOf, Chain, Criterion, Every, Has, Node, SearchQuery
from fhir_server.search.results import SORT_COLUMNS, SortKey
from fhir_server.storage.versions import StoredVersion, VERSION_COLUMNS, current_versions
from fhir_server.storage.tables import (multiple_values, resources, search_composite, search_date, search_number,
                                        search_quantity, search_reference, search_string, search_token, search_uri)

_TABLES = {"token": search_token, "string": search_string, "date": search_date, "number": search_number,
           "quantity": search_quantity, "reference": search_reference, "uri": search_uri,
           "composite": search_composite}


def _condition(node: Node, resource_type: str, outer):
    """The condition that the ``resource_type`` resource in ``outer`` (resources or an alias) matches ``node``.

    Every condition is ``id IN (uncorrelated subquery)``: each database runs the subquery once, through
    the index of the searched value, instead of once per candidate resource. `_id` and `_lastUpdated` are
    conditions on ``outer``'s own columns.
    """
    if isinstance(node, Criterion) and node.kind in COLUMN_KINDS:
        return _on_resource_columns(node, outer)
    return outer.c.id.in_(_matching_ids(node, resource_type)) if not _is_negative(node) else \
        outer.c.id.not_in(_matching_ids(_positive(node), resource_type))


def _is_negative(node: Node) -> bool:
    return isinstance(node, Criterion) and (node.modifier in ("not", "not-in")
                                            or (node.modifier == "missing" and node.missing))


def _positive(node: Criterion) -> Criterion:
    """`:not`, `:not-in` and `:missing=true` select the complement of these matches."""
    if node.modifier == "missing":
        return dataclasses.replace(node, missing=False)
    return dataclasses.replace(node, modifier="in" if node.modifier == "not-in" else None)


def _matching_ids(node: Node, resource_type: str):
    """A SELECT of the ids of current ``resource_type`` resources that match ``node``.

    Index rows exist only for current, non-deleted resources, so links between index subqueries
    need no join to ``resources``; only a complement (`:not`, `:missing=true`) does. Fewer levels
    also keep PostgreSQL's plans sane before it has statistics on freshly loaded tables.
    """
    if isinstance(node, Chain):
        # One SELECT per target type: PostgreSQL cannot drive an index lookup from `OR` of IN subqueries
        # and read every reference to the type instead (a 2-level chain at 500,000 resources: 130 ms).
        links = []
        for target_type, inner in node.targets:
            reference = search_reference.alias()
            links.append(select(reference.c.resource_id).where(
                reference.c.resource_type == resource_type, reference.c.param == node.code,
                reference.c.target_type == target_type, reference.c.target_id.in_(_live_ids(inner, target_type))))
        return links[0] if len(links) == 1 else union(*links)
    if isinstance(node, Has):
        reference = search_reference.alias()
        return select(reference.c.target_id).where(
            reference.c.resource_type == node.source_type, reference.c.param == node.code,
            reference.c.target_type == resource_type,
            reference.c.resource_id.in_(_live_ids(node.inner, node.source_type)))
    if isinstance(node, AnyOf):
        return union(*(_matching_ids(inner, resource_type) for inner in node.nodes))
    if isinstance(node, (AllOf, Every)):
        # One SELECT with the conditions ANDed, not INTERSECT: SQLite cannot nest compound SELECTs in a UNION.
        live = resources.alias()
        return select(live.c.id).where(live.c.resource_type == resource_type, live.c.deleted.is_(False),
                                       *(_condition(inner, resource_type, live)
                                         for inner in (node.nodes if isinstance(node, AllOf) else ())))
    return _criterion_ids(node, resource_type)


def _live_ids(node: Node, resource_type: str):
    """Ids of current ``resource_type`` resources matching ``node``, for a link inside a chain or _has."""
    if not _is_negative(node):
        return _matching_ids(node, resource_type)
    live = resources.alias()
    return select(live.c.id).where(live.c.resource_type == resource_type, live.c.deleted.is_(False),
                                   _condition(node, resource_type, live))


def _criterion_ids(criterion: Criterion, resource_type: str):
    if criterion.kind in COLUMN_KINDS:
        live = resources.alias()
        return select(live.c.id).where(live.c.resource_type == resource_type, live.c.deleted.is_(False),
                                       _on_resource_columns(criterion, live))
    table = _TABLES[criterion.kind].alias()
    return select(table.c.resource_id).where(table.c.resource_type == resource_type,
                                             _param_is(table, criterion.params), *_values(table, criterion))


def _on_resource_columns(criterion: Criterion, outer):
    """`_id` or `_lastUpdated` on ``outer``'s own columns, which every resource has a value in. last_updated is an
    instant to the millisecond: the low and the high bound of its range alike."""
    if criterion.modifier == "missing":
        return false() if criterion.missing else true()
    if criterion.kind == "id":
        return outer.c.id.in_(criterion.values)
    instant = SimpleNamespace(c=SimpleNamespace(low=outer.c.last_updated, high=outer.c.last_updated))
    return or_(*(CONDITIONS["date"](instant, criterion, value) for value in criterion.values))


def _param_is(table, params: tuple[str, ...]):
    """The rows of a parameter: of its code, or of a union parameter's parts (index.SearchIndex.stored_codes)."""
    return table.c.param == params[0] if len(params) == 1 else table.c.param.in_(params)


def _values(table, criterion: Criterion) -> list:
    if criterion.modifier == "missing":
        return []  # the resources that have a value; `:missing=true` takes the complement
    return [or_(*(CONDITIONS[criterion.kind](table, criterion, value) for value in criterion.values))]


def _where(query: SearchQuery, dense: frozenset[int] = frozenset()):
    return [resources.c.resource_type == query.resource_type, resources.c.deleted.is_(False),
            *(_probe(node, resources) if id(node) in dense else _condition(node, query.resource_type, resources)
              for node in query.criteria)]


# A criterion with at least this many index rows is checked per candidate rather than collected first.
DENSE = 1000


def _dense(connection: Connection, query: SearchQuery) -> frozenset[int]:
    """The plain criteria that many resources match (ids of the nodes).

    For a page in id order, checking such a criterion on each candidate through the resource's own index
    rows stops after a page of matches, where collecting all its matches first costs as many rows as
    match (at 100,000 resources on SQLite: a two-date-range page 53 ms -> 4.5 ms). Rare criteria are still
    collected first, so they drive the search. One bounded index read per criterion decides.
    """
    found = set()
    for node in query.criteria:
        if isinstance(node, Criterion) and node.kind not in COLUMN_KINDS and not _is_negative(node):
            sample = _criterion_ids(node, query.resource_type).limit(DENSE).subquery()
            if connection.execute(select(func.count()).select_from(sample)).scalar_one() >= DENSE:
                found.add(id(node))
    return frozenset(found)


def _probe(criterion: Criterion, outer):
    """``criterion`` checked against the candidate resource's own index rows."""
    table = _TABLES[criterion.kind].alias()
    return exists().where(table.c.resource_type == outer.c.resource_type, table.c.resource_id == outer.c.id,
                          _param_is(table, criterion.params), *_values(table, criterion))


def find_ids(connection: Connection, query: SearchQuery, limit: int) -> list[str]:
    """Ids of current, non-deleted matches, at most ``limit``."""
    statement = select(resources.c.id).where(*_where(query)).order_by(resources.c.id).limit(limit)
    return list(connection.execute(statement).scalars())


def _sort_expression(key: SortKey):
    if key.kind == "_id":
        return resources.c.id
    if key.kind == "_lastUpdated":
        return resources.c.last_updated
    table = _TABLES[key.kind]
    ascending_column, descending_column = SORT_COLUMNS[key.kind]
    aggregate = func.max(table.c[descending_column]) if key.descending else func.min(table.c[ascending_column])
    return select(aggregate).where(table.c.resource_type == resources.c.resource_type,
                                   table.c.resource_id == resources.c.id, _param_is(table, key.params)).scalar_subquery()


def _beyond(keys: list[tuple], values: list, last_id: str, backward: bool):
    """Rows strictly after (``backward``: before) the cursor row in ORDER BY keys..., id, with NULLs last
    in every direction."""
    if not keys:
        return resources.c.id < last_id if backward else resources.c.id > last_id
    (expression, descending), rest = keys[0], _beyond(keys[1:], values[1:], last_id, backward)
    value = values[0]
    if value is None:
        return or_(expression.is_not(None), and_(expression.is_(None), rest)) if backward else \
            and_(expression.is_(None), rest)
    if backward:
        return or_(expression > value if descending else expression < value, and_(expression == value, rest))
    return or_(expression < value if descending else expression > value, expression.is_(None),
               and_(expression == value, rest))


def search(connection: Connection, query: SearchQuery, *, sort=(), cursor=None,
           limit: int) -> list[tuple[StoredVersion, list]]:
    """One page of matches in `_sort` order (then id) after the keyset ``cursor``; for a backward
    cursor, the matches before it, nearest first (the caller turns them round)."""
    backward = cursor is not None and cursor.backward
    if sort and sort[0].kind in SORT_COLUMNS and not _has_multiple_values(connection, query.resource_type,
                                                                            sort[0].kind, sort[0].params):
        return _search_by_single_value(connection, query, sort, cursor, limit)
    keys = [(_sort_expression(key), key.descending) for key in sort]
    dense = _dense(connection, query) if not keys else frozenset()
    return _page(connection, current_versions.where(*_where(query, dense)), keys,
                 cursor.values if cursor else None, backward, limit)


def _search_by_single_value(connection: Connection, query: SearchQuery, sort, cursor, limit: int):
    """A page sorted first by a parameter no resource has two values of: the resources with a value come
    first, through a join the database can read in the value index's order (at 57,000 matches among
    500,000 resources on PostgreSQL: 1.4 s -> 15 ms); then, NULLs last, those without one."""
    first = sort[0]
    rest = [(_sort_expression(key), key.descending) for key in sort[1:]]
    where = _where(query)

    def joined(table):
        return and_(table.c.resource_type == resources.c.resource_type, table.c.resource_id == resources.c.id,
                    _param_is(table, first.params))

    table, absent = _TABLES[first.kind].alias(), _TABLES[first.kind].alias()
    column = table.c[SORT_COLUMNS[first.kind][1 if first.descending else 0]]
    # (rows, their keys, whether the first key exists there): the first key is the joined value, never NULL,
    # or absent, and then it is NULL in the cursor and in the values handed back.
    with_value = (current_versions.join(table, joined(table)).where(*where), [(column, first.descending), *rest], True)
    without_value = (current_versions.where(*where, not_(exists().where(joined(absent)))), rest, False)
    segments = [with_value, without_value]
    backward = cursor is not None and cursor.backward
    if cursor is not None:
        start = 0 if cursor.values[0] is not None else 1
        segments = segments[start::-1] if backward else segments[start:]
    page = []
    for number, (statement, keys, has_value) in enumerate(segments):
        values = None
        if cursor is not None and number == 0:
            values = cursor.values if has_value else cursor.values[1:]
        rows = _page(connection, statement, keys, values, backward, limit - len(page), never_null=int(has_value))
        page += [(version, sort_values if has_value else [None, *sort_values]) for version, sort_values in rows]
        if len(page) >= limit:
            break
    return page


def _page(connection: Connection, statement, keys: list[tuple], cursor_values: list | None, backward: bool,
          limit: int, never_null: int = 0) -> list[tuple[StoredVersion, list]]:
    """``statement``'s rows in ``keys`` order, then id, after (``backward``: before, nearest first) the row
    whose sort values, then id, are ``cursor_values``; each with its sort values and id. The first
    ``never_null`` keys are never NULL."""
    order = [(expression.asc() if descending else expression.desc()) if backward
             else (expression.desc() if descending else expression.asc()) for expression, descending in keys]
    # NULLs last in every direction, but not spelled out for a joined value, which is never NULL: the clause
    # keeps PostgreSQL from reading the value index backwards for DESC.
    order = [term if number < never_null else term.nulls_first() if backward else term.nulls_last()
             for number, term in enumerate(order)]
    statement = (statement.add_columns(*(expression for expression, _ in keys))
                 .order_by(*order, resources.c.id.desc() if backward else resources.c.id).limit(limit))
    if cursor_values is not None:
        statement = statement.where(_beyond(keys, cursor_values[:-1], cursor_values[-1], backward))
    width = len(VERSION_COLUMNS)
    return [(StoredVersion(*row[:width]), [*row[width:], row[1]]) for row in connection.execute(statement).all()]


def _has_multiple_values(connection: Connection, resource_type: str, kind: str, params: tuple[str, ...]) -> bool:
    """Whether some resource has (or had) more than one index row for the parameter; a union parameter may
    have a row of each part."""
    if len(params) > 1:
        return True
    return connection.execute(select(literal(1)).where(
        multiple_values.c.index_table == _TABLES[kind].name, multiple_values.c.resource_type == resource_type,
        multiple_values.c.param == params[0])).first() is not None


def count(connection: Connection, query: SearchQuery) -> int:
    (node, *others) = query.criteria or [None]
    if isinstance(node, Criterion) and not others and node.kind not in COLUMN_KINDS and not _is_negative(node):
        # Index rows exist only for current resources: one criterion is counted from its index alone, and
        # without DISTINCT (at 340,000 matches on PostgreSQL: 112 -> 60 ms) unless some resource has
        # several rows for the parameter.
        matches = _criterion_ids(node, query.resource_type).subquery()
        several = _has_multiple_values(connection, query.resource_type, node.kind, node.params)
        counted = func.count(matches.c.resource_id.distinct()) if several else func.count()
        return connection.execute(select(counted).select_from(matches)).scalar_one()
    return connection.execute(select(func.count()).select_from(resources).where(*_where(query))).scalar_one()


_CHUNK = 500  # ids per IN list: large pages and fan-outs stay within every database's parameter limit


def _chunks(items: list) -> list[list]:
    return [items[start:start + _CHUNK] for start in range(0, len(items), _CHUNK)]


def referenced(connection: Connection, source_type: str, source_ids: list[str], code: str,
               target_type: str | None) -> set[tuple[str, str]]:
    """(type, id) of what the given resources' reference parameter ``code`` (``*``: any) points at."""
    found = set()
    for ids in _chunks(source_ids):
        statement = select(search_reference.c.target_type, search_reference.c.target_id).where(
            search_reference.c.resource_type == source_type, search_reference.c.resource_id.in_(ids),
            search_reference.c.target_type.is_not(None), search_reference.c.target_id.is_not(None))
        if code != "*":
            statement = statement.where(search_reference.c.param == code)
        if target_type is not None:
            statement = statement.where(search_reference.c.target_type == target_type)
        found.update((row[0], row[1]) for row in connection.execute(statement))
    return found


def referencing(connection: Connection, source_type: str, params: tuple[str, ...], target_type: str | None,
                targets: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """(type, id) of the ``source_type`` resources whose reference parameters ``params`` point at ``targets``."""
    by_type: dict[str, list[str]] = {}
    for kind, id_ in targets:
        if target_type is None or kind == target_type:
            by_type.setdefault(kind, []).append(id_)
    found = set()
    for kind, ids in by_type.items():
        for chunk in _chunks(ids):
            statement = select(search_reference.c.resource_id).where(
                search_reference.c.resource_type == source_type, _param_is(search_reference, params),
                search_reference.c.target_type == kind, search_reference.c.target_id.in_(chunk))
            found.update((source_type, row[0]) for row in connection.execute(statement))
    return found


def current_versions_of(connection: Connection, keys: set[tuple[str, str]]) -> list[StoredVersion]:
    """The current versions of the given resources that exist and are not deleted, in a stable order."""
    by_type: dict[str, list[str]] = {}
    for kind, id_ in sorted(keys):
        by_type.setdefault(kind, []).append(id_)
    found = []
    for kind, ids in by_type.items():
        for chunk in _chunks(ids):
            statement = current_versions.where(resources.c.resource_type == kind, resources.c.id.in_(chunk),
                                               resources.c.deleted.is_(False)).order_by(resources.c.id)
            found.extend(StoredVersion(*row) for row in connection.execute(statement))
    return found


class SqlBackend:
    """The SQL index tables as a ``SearchBackend``; a hierarchy or value set never published is a 400."""

    full_text = False

    def count(self, connection: Connection, query: SearchQuery) -> int:
        sql_terminology.check(connection, query)
        return count(connection, query)

    def search(self, connection: Connection, query: SearchQuery, *, sort=(), cursor=None,
               limit: int) -> list[tuple[StoredVersion, list]]:
        sql_terminology.check(connection, query)
        return search(connection, query, sort=sort, cursor=cursor, limit=limit)
