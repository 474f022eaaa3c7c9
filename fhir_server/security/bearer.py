"""Authentication of every request to the FHIR API and the import API: its bearer token, verified,
becomes the request's :class:`Access`; with authentication off every request gets unrestricted access."""

from __future__ import annotations

from flask import Flask, g, request

from fhir_server.security.access import UNRESTRICTED, Access
from fhir_server.security.tokens import TokenVerifier
from fhir_server.settings import Settings

# What a client reads to learn how to authenticate needs no token.
_PUBLIC = ("/metadata", "/.well-known/smart-configuration")


def require_tokens(app: Flask, settings: Settings, fhir_prefix: str, protected: tuple[str, ...]) -> None:
    """Verify the token of every request under the ``protected`` path prefixes, when authentication is on."""
    if settings.auth != "on":
        return
    verifier = TokenVerifier(settings)
    public = {fhir_prefix + path for path in _PUBLIC}

    @app.before_request
    def authenticate():
        path = request.path.rstrip("/")
        if request.method == "OPTIONS" or path in public or not path.startswith(protected):
            return
        g.access = Access(verifier.verify(request.headers.get("Authorization")))


def current_access() -> Access:
    return g.get("access", UNRESTRICTED)
