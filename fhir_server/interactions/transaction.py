"""transaction: all entries succeed in one database transaction, or none do
(https://hl7.org/fhir/R4/http.html#trules).

Entries run in the spec's order (DELETE, POST, PUT/PATCH, GET). Before any create or update runs,
every entry's identity is settled (new ids for creates, matches for ifNoneExist and conditional
updates) and each reference to an entry's fullUrl, or a conditional reference such as
``Patient?identifier=x|1``, is rewritten to the resource it names.

Most transactions (a bulk load's) have no conditional creates or updates: then identities and every reference
but conditional ones are settled, and each resource's index rows extracted, before the database transaction
starts, which on SQLite keeps other writers waiting only while the rows are written.
"""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlencode

from fhir_server import bundles, http, resources
from fhir_server.errors import BadRequest, FhirError, PreconditionFailed
from fhir_server.interactions.bundle_entries import entry_request, response_entry
from fhir_server.interactions.conditional import matching_ids, parse_criteria
from fhir_server.pipeline import Context, FhirRequest, FhirResponse
from fhir_server.storage.ids import new_id

_ORDER = {"DELETE": 0, "POST": 1, "PUT": 2, "PATCH": 2, "GET": 3, "HEAD": 3}
_CONDITIONAL_REFERENCE = re.compile(r"([A-Z][A-Za-z]+)\?(.+)")


def run(outer: FhirRequest, entries: list[dict], context: Context) -> FhirResponse:
    requests = [entry_request(index, entry, outer) for index, entry in enumerate(entries)]
    full_urls = [entry.get("fullUrl") for entry in entries]
    _validate(requests)
    _check_unique(requests, full_urls)
    order = sorted(range(len(requests)), key=lambda index: _ORDER[requests[index].method])
    responses: list[FhirResponse | None] = [None] * len(requests)
    matched_existing: set[int] = set()
    # Unless an entry is a conditional create or update, every entry's identity is settled without the database.
    targets = None if any(map(_settled_by_search, requests)) else \
        _settle_identities(None, requests, full_urls, matched_existing)
    pending = _rewrite_early(requests, targets, set(filter(None, full_urls)), context)
    with context.transaction() as transaction:
        for index in order:
            if requests[index].method == "DELETE":
                responses[index] = _dispatch(transaction, requests[index])
        if targets is None:
            targets = _settle_identities(transaction, requests, full_urls, matched_existing)
        transaction.session.prefetch([tuple(request.path.split("/")) for request in requests
                                      if request.method in ("PUT", "PATCH") and request.path.count("/") == 1])
        references = _References(transaction, targets)
        for request in pending:
            references.rewrite(request.resource, f"Bundle.entry[{request.bundle_entry}].resource")
        for index in order:
            if requests[index].method != "DELETE":
                responses[index] = _dispatch(transaction, requests[index])
    representation = http.preference(outer, "return") == "representation"
    results = [response_entry(response, keep_body=index not in matched_existing or representation)
               for index, response in enumerate(responses)]
    return FhirResponse(200, bundles.bundle("transaction-response", results))


def _rewrite_early(requests: list[FhirRequest], targets: dict[str, str] | None, full_urls: set[str],
                   context: Context) -> list[FhirRequest]:
    """Rewrite each resource's references before the transaction takes the database's lock, and extract the index
    rows of those created or updated whose references are then final; return the requests left to finish in the
    transaction (a conditional reference is a search, and so is an entry's identity while ``targets`` is None)."""
    early = _References(None, targets or {}, unsettled=full_urls if targets is None else frozenset())
    pending = []
    for request in requests:
        if request.resource is None:
            continue
        early.deferred = False
        early.rewrite(request.resource, f"Bundle.entry[{request.bundle_entry}].resource")
        if early.deferred:
            pending.append(request)
        elif request.method in ("POST", "PUT"):
            request.index_rows = context.search.prepared_rows(request.resource)
    return pending


def _settled_by_search(request: FhirRequest) -> bool:
    """A conditional create or update: which resource it writes is found by a search (see ``_settle``)."""
    _, _, id_ = request.path.partition("/")
    return request.resource is not None and not id_ and (
        request.method == "PUT" or request.method == "POST" and bool(request.headers.get("If-None-Exist")))


def _dispatch(transaction: Context, request: FhirRequest) -> FhirResponse:
    try:
        return transaction.pipeline.handle(request, transaction)
    except FhirError as error:
        raise error.at(f"Bundle.entry[{request.bundle_entry}]") from None


def _validate(requests: list[FhirRequest]) -> None:
    """Validate every resource before the database transaction starts, so its locks are held briefly."""
    for request in requests:
        if request.resource is not None and request.method in ("POST", "PUT"):
            resources.validate(request.resource, f"Bundle.entry[{request.bundle_entry}].resource")
            request.validated = True


def _check_unique(requests: list[FhirRequest], full_urls: list[str | None]) -> None:
    repeated_urls = [url for url, count in Counter(url for url in full_urls if url).items() if count > 1]
    if repeated_urls:
        raise BadRequest(f"fullUrl `{repeated_urls[0]}` appears in more than one entry.")
    instance_writes = Counter(request.path for request in requests
                              if request.method in ("PUT", "PATCH", "DELETE") and "/" in request.path)
    repeated = [path for path, count in instance_writes.items() if count > 1]
    if repeated:
        raise BadRequest(f"`{repeated[0]}` is changed by more than one entry of the transaction.")


def _settle_identities(transaction: Context | None, requests: list[FhirRequest], full_urls: list[str | None],
                       matched_existing: set[int]) -> dict[str, str]:
    """Decide which resource each create or update entry will be, and map to it the entry's fullUrl
    and its conditional criteria (so ``Patient?identifier=x|1`` also finds a patient this transaction creates)."""
    targets = {}
    for index, request in enumerate(requests):
        criteria = _criteria_key(request)
        try:
            target = _settle(transaction, request, index, matched_existing)
        except FhirError as error:
            raise error.at(f"Bundle.entry[{index}]") from None
        if target and full_urls[index]:
            targets[full_urls[index]] = target
        if target and criteria:
            targets.setdefault(criteria, target)
    return targets


def _criteria_key(request: FhirRequest) -> str | None:
    if request.method == "POST" and request.headers.get("If-None-Exist"):
        return f"{request.path}?{request.headers['If-None-Exist'].removeprefix('?')}"
    if request.method == "PUT" and "/" not in request.path and request.params:
        return f"{request.path}?{urlencode(request.params)}"
    return None


def _settle(transaction: Context | None, request: FhirRequest, index: int, matched_existing: set[int]) -> str | None:
    resource_type, _, id_ = request.path.partition("/")
    if request.resource is None or "/" in id_:
        return None
    if request.method == "POST" and not id_:
        criteria = request.headers.get("If-None-Exist")
        matches = matching_ids(transaction, resource_type, parse_criteria(criteria)) if criteria else []
        if len(matches) > 1:
            raise PreconditionFailed(f"ifNoneExist `{criteria}` matches more than one `{resource_type}`.")
        request.headers.pop("If-None-Exist", None)
        if matches:
            # The existing resource is the entry's answer: read it in the GET phase.
            matched_existing.add(index)
            request.method, request.path, request.resource = "GET", f"{resource_type}/{matches[0]}", None
            return request.path
        request.assigned_id = new_id()
        return f"{resource_type}/{request.assigned_id}"
    if request.method == "PUT" and not id_:
        matches = matching_ids(transaction, resource_type, request.params)
        if len(matches) > 1:
            raise PreconditionFailed(f"The criteria of `{request.path}` match more than one `{resource_type}`.")
        body_id = request.resource.get("id")
        if matches and body_id is not None and body_id != matches[0]:
            raise BadRequest(f"The body's id `{body_id}` differs from the matching resource `{matches[0]}`.")
        id_ = matches[0] if matches else body_id or new_id()
        request.path, request.params = f"{resource_type}/{id_}", []
        request.resource["id"] = id_
    if request.method == "PUT":
        return f"{resource_type}/{id_}"
    return None


class _References:
    """Rewrites references to entries' fullUrls and conditional references, anywhere in a resource."""

    def __init__(self, transaction: Context | None, targets: dict[str, str], unsettled: frozenset | set = frozenset()):
        """``transaction`` finds conditional references. Without one (before the transaction), a conditional
        reference, or one to an entry of ``unsettled`` fullUrls, is left as it is and sets :attr:`deferred`: the
        transaction's own rewrite finishes the resource."""
        self._transaction = transaction
        self._targets = targets
        self._unsettled = unsettled
        self._resolved: dict[str, str] = {}
        self.deferred = False

    def rewrite(self, value, where: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if key == "reference" and isinstance(child, str):
                    value[key] = self._resolve(child, f"{where}.reference")
                elif isinstance(child, (dict, list)):
                    self.rewrite(child, f"{where}.{key}")
        elif isinstance(value, list):
            for position, item in enumerate(value):
                if isinstance(item, (dict, list)):
                    self.rewrite(item, f"{where}[{position}]")

    def _resolve(self, reference: str, where: str) -> str:
        if reference in self._targets:
            return self._targets[reference]
        if reference in self._unsettled:
            self.deferred = True
            return reference
        if reference.startswith(("urn:uuid:", "urn:oid:")):
            raise BadRequest(f"{where}: reference `{reference}` names no entry's fullUrl in this transaction.",
                             expression=(where,))
        match = _CONDITIONAL_REFERENCE.fullmatch(reference)
        if not match:
            return reference
        if self._transaction is None:
            self.deferred = True
            return reference
        if reference not in self._resolved:
            resource_type, criteria = match.groups()
            if not resources.is_supported(resource_type):
                raise BadRequest(f"{where}: `{resource_type}` in `{reference}` is not a supported resource type.",
                                 expression=(where,))
            matches = matching_ids(self._transaction, resource_type, parse_criteria(criteria))
            if len(matches) != 1:
                found = "no resource" if not matches else "more than one resource"
                raise PreconditionFailed(f"{where}: conditional reference `{reference}` matches {found}.",
                                         expression=(where,))
            self._resolved[reference] = f"{resource_type}/{matches[0]}"
        return self._resolved[reference]
