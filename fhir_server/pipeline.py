"""The seam every request passes: who is asking, which interaction, on what; then the handler.

HTTP requests and each entry of a batch or transaction Bundle come through :meth:`Pipeline.handle`,
so authorization (``before`` hooks) and audit (``after`` hooks) see every access in one place.
"""

from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from werkzeug.datastructures import Headers

from fhir_server.errors import FhirError, from_terminology
from terminology.errors import TerminologyError
from fhir_server.search.engine import SearchEngine
from fhir_server.security import audit
from fhir_server.security.access import UNRESTRICTED, Access
from fhir_server.security.authorization import authorize
from fhir_server.settings import Settings
from fhir_server.storage.repository import Repository, WriteSession
from fhir_server.storage.versions import StoredVersion
from fhir_server.terminology_service import TerminologyService


@dataclass
class FhirRequest:
    """A FHIR interaction request, from HTTP or from a Bundle entry."""

    method: str
    path: str  # relative to the FHIR base, without a leading slash
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""
    base_url: str = ""
    resource: dict | None = None  # the parsed body, when already parsed
    validated: bool = False  # the resource passed validation already (a Bundle entry)
    index_rows: dict | None = None  # its index rows, prepared with the validation (a bulk load's)
    assigned_id: str | None = None  # the id a transaction chose for a created resource
    bundle_entry: int | None = None  # index of the Bundle entry this request came from

    def param(self, name: str) -> str | None:
        for key, value in self.params:
            if key == name:
                return value
        return None


@dataclass
class FhirResponse:
    """What a handler answers: status, JSON body and headers, and the version it is about."""

    status: int
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    version: StoredVersion | None = None
    outcome: str | None = None  # for an update: created, updated or unchanged (repository.CREATED, ...)
    content_type: str | None = None  # when the body is not a FHIR resource (a bulk manifest, NDJSON)
    file: Path | None = None  # a file sent as the body, streamed from disk (a bulk export's output)


@dataclass
class Context:
    """What handlers need: storage, search, settings, and the enclosing transaction, if any."""

    repository: Repository
    settings: Settings
    search: SearchEngine
    pipeline: "Pipeline"
    capability_statement: Callable[[], bytes] = lambda: b""  # the current one, rebuilt when parameters change
    session: WriteSession | None = None
    terminology: TerminologyService = field(default_factory=lambda: TerminologyService(None))
    access: Access = UNRESTRICTED  # what the request's principal may do; the CLI and jobs run unrestricted
    audit: audit.Trail | None = None  # where the request's AuditEvents collect, when the server keeps a trail

    @contextmanager
    def transaction(self) -> Iterator["Context"]:
        """This context bound to one write transaction: the enclosing one in a transaction Bundle, else a new one."""
        if self.session is not None:
            yield self
        else:
            with self.repository.write() as session:
                yield self.within(session)

    @contextmanager
    def reading(self):
        """A connection that sees the enclosing transaction's own writes, else a fresh snapshot."""
        with self.repository.reading(self.session.connection if self.session else None) as connection:
            yield connection

    def within(self, session: WriteSession) -> "Context":
        return dataclasses.replace(self, session=session)

    def acting_for(self, access: Access, trail: audit.Trail | None = None) -> "Context":
        """This context for one HTTP request's principal, collecting its audit events in ``trail``."""
        return dataclasses.replace(self, access=access, audit=trail)


@dataclass(frozen=True)
class RequestInfo:
    """Who is asking for which interaction on what: the facts authorization and audit decide on."""

    principal: str | None  # the token's subject; None with authentication off
    interaction: str
    resource_type: str | None
    id: str | None
    method: str
    path: str


BeforeHook = Callable[[RequestInfo], None]
AfterHook = Callable[[RequestInfo, int], None]


class Pipeline:
    def __init__(self, router):
        self.router = router
        self.before: list[BeforeHook] = []
        self.after: list[AfterHook] = []

    def handle(self, request: FhirRequest, context: Context) -> FhirResponse:
        route = self.router.match(request.method, request.path)
        principal = context.access.principal
        info = RequestInfo(principal.subject if principal else None, route.interaction, route.args.get("type"),
                           route.args.get("id"), request.method, request.path)
        response, status = None, 500
        try:
            authorize(context.access, route.interaction, info.resource_type, _is_conditional(route, request))
            for hook in self.before:
                hook(info)
            try:
                response = route.handler(request, route.args, context)
            except TerminologyError as error:
                raise from_terminology(error) from None
            status = response.status
        except FhirError as error:
            status = error.status
            raise
        finally:
            for hook in self.after:
                hook(info, status)
            if context.audit is not None and route.interaction not in audit.UNAUDITED:
                context.audit.events.append(audit.event(route.interaction, route.args, request, response, status,
                                                        principal, context.audit.source_address))
        return response


def _is_conditional(route, request: FhirRequest) -> bool:
    """A conditional create, update, patch or delete: its criteria are a search."""
    if route.interaction == "create":
        return bool(request.headers.get("If-None-Exist"))
    return route.interaction in ("update", "patch", "delete") and "id" not in route.args
