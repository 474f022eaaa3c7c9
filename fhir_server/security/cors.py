"""Cross-origin requests from browser apps (https://fetch.spec.whatwg.org/#http-cors-protocol), off by default.

Only the origins listed in ``FHIR_SERVER_CORS_ORIGINS`` (or any, with ``*``) may read responses from a page on
another site. SMART apps send their token in the Authorization header, never in cookies, so credentials are
not allowed cross-origin.
"""

from __future__ import annotations

from flask import Flask, Response, request

_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE"
_REQUEST_HEADERS = ("Accept, Authorization, Content-Type, If-Match, If-Modified-Since, If-None-Exist, "
                    "If-None-Match, Prefer")
# The headers a FHIR client reads: where a created resource is, its version, and a bulk job's progress.
_EXPOSED_HEADERS = "Content-Location, ETag, Expires, Last-Modified, Location, Retry-After, X-Progress"
_PREFLIGHT_MAX_AGE_SECONDS = "600"


def allow(app: Flask, origins: str) -> None:
    """Answer preflights and mark responses readable for ``origins`` (separated by spaces; ``*`` for any)."""
    allowed = frozenset(origins.split())
    if not allowed:
        return

    def allowed_origin() -> str | None:
        origin = request.headers.get("Origin")
        if origin is None or not (origin in allowed or "*" in allowed):
            return None
        return "*" if "*" in allowed else origin

    @app.before_request
    def preflight():
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        origin = allowed_origin()
        if origin is None:
            return None  # no CORS headers: the browser refuses; the request goes on to its usual answer
        return Response(status=204, headers={
            "Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": _METHODS,
            "Access-Control-Allow-Headers": _REQUEST_HEADERS, "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE_SECONDS,
            "Vary": "Origin"})

    @app.after_request
    def readable(response: Response) -> Response:
        origin = allowed_origin()
        if origin is not None and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED_HEADERS
        if "*" not in allowed:
            response.vary.add("Origin")  # the answer differs by origin: caches must not share it
        return response
