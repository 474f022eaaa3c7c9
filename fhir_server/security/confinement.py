"""Keeping a request inside what its token reaches, on every path that touches resources: searches and
their chains and `_has` (no filtering by what may not be seen), includes, reads and writes.

A ``patient/`` scope confines a type to the token's patient's compartment; these checks add that
compartment to queries, so totals and `_summary=count` count only what the token may see.
"""

from __future__ import annotations

from collections import defaultdict

from fhir_server.errors import Forbidden, NotFound
from fhir_server.search import compartments
from fhir_server.search.query import AllOf, AnyOf, Chain, Has, Node, SearchQuery
from fhir_server.security.access import EVERYWHERE, Access

_CHUNK = 500  # ids per membership query


def confine(access: Access, query: SearchQuery) -> None:
    """Narrow a search to what the token may search, through every chain and `_has` too."""
    if not access.restricted:
        return
    query.criteria = [_confined(access, node) for node in query.criteria]
    criterion = access.compartment(query.resource_type, "s")
    if criterion is not None:
        query.criteria.append(criterion)


def _confined(access: Access, node: Node) -> Node:
    if isinstance(node, Chain):
        targets = [(target_type, _within(access, target_type, _confined(access, inner)))
                   for target_type, inner in node.targets if access.reach(target_type, "s") is not None]
        if not targets:
            kinds = ", ".join(f"`{target_type}`" for target_type, _ in node.targets)
            raise Forbidden(f"The chain `{node.code}` searches {kinds} resources, which the token may not search.")
        return Chain(node.code, tuple(targets))
    if isinstance(node, Has):
        access.require(node.source_type, "s")
        return Has(node.source_type, node.code, _within(access, node.source_type, _confined(access, node.inner)))
    if isinstance(node, (AnyOf, AllOf)):
        return type(node)(tuple(_confined(access, inner) for inner in node.nodes))
    return node


def _within(access: Access, resource_type: str, node: Node) -> Node:
    reach = access.reach(resource_type, "s")
    if reach == EVERYWHERE:
        return node
    return AllOf((node, compartments.membership("Patient", reach, resource_type)))


def require_visible(access: Access, search, connection, resource_type: str, id_: str) -> None:
    """NotFound, as if it did not exist, for a resource outside the token's patient's compartment."""
    if access.restricted and not _members(access, search, connection, resource_type, [id_], "r"):
        raise NotFound(f"Resource `{resource_type}/{id_}` was not found.")


def require_writable(transaction, resource_type: str, id_: str, permission: str) -> None:
    """Forbidden if the resource exists, inside ``transaction`` (a pipeline Context with a write session),
    outside the token's patient's compartment. Called before a write, so a token cannot take another
    patient's resource over, and after it, so it cannot move one out; a resource not there has nothing to check."""
    access = transaction.access
    if not access.restricted or access.reach(resource_type, permission) == EVERYWHERE:
        return
    current = transaction.session.current(resource_type, id_)
    if current is None or current.deleted:
        return
    if not _members(access, transaction.search, transaction.session.connection, resource_type, [id_], permission):
        raise Forbidden(f"`{resource_type}/{id_}` is not in the compartment of the token's patient.")


def include_filter(access: Access, search, connection):
    """What `_include` and `_revinclude` may add (see ``SearchEngine.included``): None when anything goes."""
    if not access.restricted:
        return None
    return lambda keys: visible(access, search, connection, keys)


def visible(access: Access, search, connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The (type, id) keys the token may read: what `_include` and `_revinclude` may add to a page."""
    if not access.restricted:
        return keys
    by_type = defaultdict(list)
    for resource_type, id_ in keys:
        by_type[resource_type].append(id_)
    kept = set()
    for resource_type, ids in by_type.items():
        kept |= {(resource_type, id_) for id_ in _members(access, search, connection, resource_type, ids, "r")}
    return kept


def _members(access: Access, search, connection, resource_type: str, ids: list[str], permission: str) -> set[str]:
    reach = access.reach(resource_type, permission)
    if reach is None:
        return set()
    if reach == EVERYWHERE:
        return set(ids)
    members = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start:start + _CHUNK]
        query = search.parse(resource_type, [("_id", ",".join(chunk))], strict=True)
        query.criteria.append(compartments.membership("Patient", reach, resource_type))
        members |= set(search.find_ids(connection, query, len(chunk)))
    return members
