"""The Flask application: every request under /fhir goes through the pipeline; every error becomes
an OperationOutcome here, never a stack trace or SQL (https://hl7.org/fhir/R4/http.html)."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, Response, request, send_file
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from fhir_server import http, json_codec, resources
from fhir_server.errors import (Conflict, FhirError, Forbidden, InternalError, MethodNotAllowed, NotFound,
                                PayloadTooLarge, BadRequest, Unauthorized, outcome_for)
from fhir_server.interactions import INTERACTIONS
from fhir_server import import_api, import_jobs, operations, web
from fhir_server.bulk import export_jobs
from fhir_server.bulk import status as bulk_status
from fhir_server.interactions.capabilities import CapabilityStatements
from fhir_server.pipeline import Context, FhirRequest, FhirResponse, Pipeline
from fhir_server.router import Router
from fhir_server.search.backends.elasticsearch import ElasticsearchBackend
from fhir_server.search.backends.elasticsearch_sync import Synchronizer
from fhir_server.search.engine import SearchEngine
from fhir_server.security import audit, bearer, cors, headers, smart_configuration
from fhir_server.settings import Settings
from fhir_server.storage.database import Database
from fhir_server.storage.repository import Repository
from fhir_server.terminology_service import TerminologyService

log = logging.getLogger(__name__)
FHIR_PREFIX = "/fhir"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
_FORM = "application/x-www-form-urlencoded"


def build_context(settings: Settings) -> Context:
    """Storage, search and the pipeline wired together; usable without Flask (the CLI loads with it)."""
    resource_types = resources.supported_resource_types()
    search = SearchEngine(resource_types)
    database = Database(settings.database_url, sqlite_busy_timeout_ms=settings.sqlite_busy_timeout_ms,
                        sqlite_synchronous=settings.sqlite_synchronous)
    synchronizer = None
    if settings.search_backend == "elasticsearch":
        search.backend = ElasticsearchBackend(settings, lambda: search.index)
        synchronizer = Synchronizer(search.backend, search, database)
    elif settings.search_backend != "sql":
        raise ValueError(f"FHIR_SERVER_SEARCH_BACKEND must be sql or elasticsearch, not {settings.search_backend!r}")
    pipeline = Pipeline(Router([*INTERACTIONS, *operations.interactions(), *bulk_status.INTERACTIONS],
                               resources.is_supported))
    statement = CapabilityStatements(INTERACTIONS, operations.OPERATIONS, resource_types, search, settings.base_url,
                                     smart_configuration.rest_security(settings))
    return Context(Repository(database, search.index_rows, search.refresh, outbox=synchronizer), settings, search,
                   pipeline, statement, terminology=TerminologyService(Path(settings.terminology_folder)))


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    context = build_context(settings)
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["fhir"] = context
    app.register_blueprint(import_api.blueprint(context))
    app.register_blueprint(web.blueprint(settings, FHIR_PREFIX))
    export_jobs.resume_later(context)
    import_jobs.resume_later(context)
    if context.repository.outbox is not None:
        context.repository.outbox.start(settings.elasticsearch_outbox_seconds)
    cors.allow(app, settings.cors_origins)  # first: a browser's preflight carries no token
    bearer.require_tokens(app, settings, FHIR_PREFIX, (FHIR_PREFIX, import_api.PREFIX))
    headers.protect(app)
    audit_writer = audit.Writer(context.repository)

    @app.after_request
    def audit_import_api(response: Response):
        """The import API's requests leave AuditEvents too: uploads carry whole hospitals' records."""
        principal = bearer.current_access().principal
        if principal is not None and request.path.startswith(import_api.PREFIX):
            trail = audit.Trail(request.remote_addr)
            asked = FhirRequest(request.method, request.path.lstrip("/"), list(request.args.items(multi=True)))
            trail.events.append(audit.event("$import", {}, asked, None, response.status_code, principal,
                                            trail.source_address))
            audit_writer.write(trail)
        return response

    @app.get(FHIR_PREFIX + "/.well-known/smart-configuration")
    def smart():
        return Response(json_codec.dump(smart_configuration.smart_configuration(settings)), 200,
                        content_type="application/json")

    @app.route(FHIR_PREFIX, defaults={"path": ""}, methods=_METHODS, provide_automatic_options=False)
    @app.route(FHIR_PREFIX + "/", defaults={"path": ""}, methods=_METHODS, provide_automatic_options=False,
               strict_slashes=False, endpoint="fhir_base_slash")
    @app.route(FHIR_PREFIX + "/<path:path>", methods=_METHODS, provide_automatic_options=False)
    def fhir(path: str):
        # The audit trail is kept whenever tokens say who is asking.
        trail = audit.Trail(request.remote_addr) if settings.auth == "on" else None
        try:
            response = context.pipeline.handle(_fhir_request(path, settings),
                                               context.acting_for(bearer.current_access(), trail))
        finally:
            if trail is not None:
                audit_writer.write(trail)  # before the answer leaves; failing, the answer is a 500
        return _respond(response)

    @app.errorhandler(FhirError)
    def fhir_error(error: FhirError):
        headers = {"Allow": ", ".join(error.allowed)} if isinstance(error, MethodNotAllowed) and error.allowed else {}
        if isinstance(error, Unauthorized):
            headers["WWW-Authenticate"] = error.challenge
        elif isinstance(error, Forbidden):
            headers["WWW-Authenticate"] = 'Bearer error="insufficient_scope"'  # RFC 6750 section 3.1
        return _outcome(error, headers)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return _outcome(_from_werkzeug(error))

    @app.errorhandler(IntegrityError)
    def integrity_error(error: IntegrityError):
        log.warning("write conflict: %s", type(error.orig).__name__)
        return _outcome(Conflict("Another request changed the same resource at the same time; retry."))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unexpected failure on %s %s", request.method, request.path)
        return _outcome(InternalError())

    return app


def _fhir_request(path: str, settings: Settings) -> FhirRequest:
    base_url = settings.base_url or request.root_url.rstrip("/") + FHIR_PREFIX
    params = list(request.args.items(multi=True))
    body = b""
    if request.method == "POST" and path.rstrip("/").endswith("_search"):
        if http.media_type(request.content_type) not in (_FORM, ""):
            raise BadRequest(f"POST _search takes a `{_FORM}` body.")
        params += list(request.form.items(multi=True))
    elif request.method in ("POST", "PUT", "PATCH"):
        body = request.get_data(cache=False)
    return FhirRequest(request.method, path.strip("/"), params, request.headers, body, base_url)


def _respond(response: FhirResponse) -> Response:
    headers = dict(response.headers)
    if response.file is not None:
        sent = send_file(response.file, mimetype=response.content_type, conditional=False, etag=False)
        sent.headers.update(headers)
        return sent
    body = response.body
    if body is None or response.status in (204, 304):
        return Response(status=response.status, headers=headers)
    if response.content_type is not None:
        return Response(body, response.status, headers, content_type=response.content_type)
    media = http.response_media_type(request.args.get("_format"), request.headers.get("Accept"))
    if request.args.get("_pretty") == "true":
        body = json_codec.pretty(body)
    return Response(body, response.status, headers, content_type=f"{media}; charset=utf-8")


def _outcome(error: FhirError, headers: dict | None = None) -> Response:
    body = json_codec.dump(outcome_for(error))
    return Response(body, error.status, headers or {}, content_type=f"{http.FHIR_JSON}; charset=utf-8")


def _from_werkzeug(error: HTTPException) -> FhirError:
    if isinstance(error, RequestEntityTooLarge):
        return PayloadTooLarge("The request body is larger than the server accepts (FHIR_SERVER_MAX_REQUEST_BYTES).")
    if error.code == 404:
        return NotFound(f"There is nothing at `{request.path}`; the FHIR API is at `{FHIR_PREFIX}`.")
    if error.code == 405:
        return MethodNotAllowed(f"`{request.method}` is not allowed on `{request.path}`.")
    if error.code == 400:
        return BadRequest("The request is malformed.")
    failure = FhirError(error.description or error.name)
    failure.status = error.code or 500
    return failure
