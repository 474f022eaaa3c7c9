"""Token ``:below``, ``:above``, ``:in`` and ``:not-in`` as one indexed lookup each in the terminology
tables that `fhir-server init-db` and `load-terminology` publish (``storage/terminology.py``).

``:below=system|code`` matches index rows of that system whose code is the code or under it (the
closure table holds each code as its own ancestor), ``:above`` the code or those over it, ``:in=url``
rows whose (system, code) is a member of the value set; ``:not-in`` is the complement of ``:in``.
"""

from __future__ import annotations

from sqlalchemy import Connection, and_, select, tuple_

from fhir_server.errors import BadRequest
from fhir_server.search.query import AllOf, AnyOf, Chain, Criterion, Has, SearchQuery
from fhir_server.search.types.token import TokenValue
from fhir_server.storage.tables import terminology_closure as closure
from fhir_server.storage.tables import terminology_members as members
from fhir_server.storage.tables import terminology_published as published


def _below(table, value: TokenValue):
    return and_(table.c.system == value.system, table.c.code.in_(
        select(closure.c.descendant).where(closure.c.system == value.system, closure.c.ancestor == value.code)))


def _above(table, value: TokenValue):
    return and_(table.c.system == value.system, table.c.code.in_(
        select(closure.c.ancestor).where(closure.c.system == value.system, closure.c.descendant == value.code)))


def _in(table, url: str):
    return tuple_(table.c.system, table.c.code).in_(
        select(members.c.system, members.c.code).where(members.c.value_set == url))


CONDITIONS = {"below": _below, "above": _above, "in": _in}


def expansion(connection: Connection, modifier: str, value) -> dict[str, list[str]]:
    """The codes, per system, that ``:below``, ``:above`` or ``:in`` with ``value`` stands for: what a
    search engine without these tables is given as plain terms."""
    if modifier == "in":
        rows = connection.execute(select(members.c.system, members.c.code).where(members.c.value_set == value))
    else:
        found, given = (closure.c.descendant, closure.c.ancestor) if modifier == "below" else \
            (closure.c.ancestor, closure.c.descendant)
        rows = connection.execute(select(closure.c.system, found).where(closure.c.system == value.system,
                                                                        given == value.code))
    codes: dict[str, list[str]] = {}
    for system, code in rows:
        codes.setdefault(system, []).append(code)
    return codes


def check(connection: Connection, query: SearchQuery) -> None:
    """A 400 for a hierarchy or value set that was never published, rather than silently matching nothing."""
    wanted = [(criterion, value) for criterion in _criteria(query.criteria)
              if criterion.kind == "token" and criterion.modifier in ("below", "above", "in", "not-in")
              for value in criterion.values]  # a uri's `:below` and `:above` are prefixes, not hierarchies
    if not wanted:
        return
    known = dict(connection.execute(select(published.c.name, published.c.kind)).all())
    for criterion, value in wanted:
        name, kind = (value.system, "closure") if criterion.modifier in ("below", "above") else (value, "members")
        if known.get(name) != kind:
            available = ", ".join(f"`{each}`" for each, what in sorted(known.items()) if what == kind) or "none"
            what = "code system hierarchy" if kind == "closure" else "value set"
            raise BadRequest(f"`{criterion.code}:{criterion.modifier}`: `{name}` is not a {what} this server has "
                             f"published; published: {available}.", expression=(f"{criterion.code}:{criterion.modifier}",))


def _criteria(nodes):
    for node in nodes:
        if isinstance(node, Criterion):
            yield node
        elif isinstance(node, Chain):
            yield from _criteria(inner for _, inner in node.targets)
        elif isinstance(node, Has):
            yield from _criteria([node.inner])
        elif isinstance(node, (AnyOf, AllOf)):
            yield from _criteria(node.nodes)
