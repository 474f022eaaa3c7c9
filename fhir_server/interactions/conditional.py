"""Resolving search criteria to resources for conditional interactions and references.

https://hl7.org/fhir/R4/http.html#ccreate: criteria are matched strictly (an unknown parameter is
an error, never ignored, since ignoring it could widen a conditional delete to everything).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from fhir_server.errors import BadRequest
from fhir_server.pipeline import Context
from fhir_server.security import confinement


def parse_criteria(text: str) -> list[tuple[str, str]]:
    params = parse_qsl(text.removeprefix("?"), keep_blank_values=True)
    if not params:
        raise BadRequest(f"Conditional criteria `{text}` name no search parameter.")
    return params


def matching_ids(transaction: Context, resource_type: str, params: list[tuple[str, str]],
                 limit: int = 2) -> list[str]:
    """Ids of at most ``limit`` current matches, inside ``transaction``; two are enough to tell 'several'.

    Transactions resolving the same criteria are serialized, so two conditional creates cannot both
    see no match and both create.
    """
    query = transaction.search.parse(resource_type, params, strict=True)
    if not query.criteria:
        raise BadRequest("Conditional criteria must name at least one search parameter.")
    confinement.confine(transaction.access, query)  # never match, and so reveal, what the token may not see
    transaction.session.lock(f"{resource_type}?{urlencode(sorted(params))}")
    return transaction.search.find_ids(transaction.session.connection, query, limit)
