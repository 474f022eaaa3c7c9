"""Resources added to a search page by `_include` and `_revinclude`, with `:iterate`
(https://hl7.org/fhir/R4/search.html#include).

Each round follows the references of the resources found in the round before; `:iterate` includes
keep going until nothing new turns up. More than ``limit`` included resources is a 400 that asks the
client to narrow the search: never a silently cut result.
"""

from __future__ import annotations

from fhir_server.errors import BadRequest
from fhir_server.search.results import Include
from fhir_server.storage.versions import StoredVersion


def included(backend, connection, matches: list[StoredVersion], includes: list[Include],
             limit: int, visible=None) -> list[StoredVersion]:
    """``visible`` narrows each round's (type, id) keys to what the requester may see, before they are
    counted or followed further, so neither the limit nor `:iterate` reveals a hidden resource."""
    have = {(version.resource_type, version.id) for version in matches}
    frontier, found, first_round = matches, [], True
    while frontier and includes:
        keys = set()
        for include in includes:
            if not (first_round or include.iterate):
                continue
            if include.reverse:
                targets = [(version.resource_type, version.id) for version in frontier]
                keys |= backend.referencing(connection, include.source_type, include.code, include.target_type, targets)
            else:
                sources = [version.id for version in frontier if version.resource_type == include.source_type]
                if sources:
                    keys |= backend.referenced(connection, include.source_type, sources, include.code,
                                               include.target_type)
        keys -= have
        have |= keys  # hidden ones too: they are not looked up again in a later round
        if visible is not None:
            keys = visible(keys)
        if len(found) + len(keys) > limit:
            raise BadRequest(f"The includes add more than {limit} resources to one page; use a smaller `_count` "
                             "or fewer includes.")
        frontier = backend.current_versions(connection, keys)
        found.extend(frontier)
        first_round = False
    return found
