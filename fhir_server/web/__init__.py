"""The web pages for researchers (the cohort explorer) and integrators (import jobs), served at /app.

Static HTML, CSS and JavaScript, with Chart.js vendored (no build step, nothing fetched at run time). The
pages hold no data: they call the FHIR API and the import API with the signed-in user's token, as any
SMART app would, so every rule of those APIs (authorization, privacy policy, audit) applies to them.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, jsonify, redirect, url_for

from fhir_server.settings import Settings

PREFIX = "/app"
PAGES = ("cohorts", "imports")
_STATIC = Path(__file__).parent / "static"


def blueprint(settings: Settings, fhir_prefix: str) -> Blueprint:
    pages = Blueprint("web", __name__, url_prefix=PREFIX, static_folder="static", static_url_path="/static")
    policy = content_security_policy(settings)
    html = {name: (_STATIC / f"{name}.html").read_bytes() for name in PAGES}  # read once, served often

    @pages.get("/")
    def home():
        return redirect(url_for("web.page", name="cohorts"))

    @pages.get("/<name>")
    def page(name: str):
        if name not in html:
            return redirect(url_for("web.page", name="cohorts"))
        return Response(html[name], 200, {"Content-Security-Policy": policy, "Cache-Control": "no-cache"},
                        content_type="text/html; charset=utf-8")

    @pages.get("/config.json")
    def config():
        """What the pages need to know before they can call the API: where it is and how to sign in."""
        return jsonify({"fhirBase": settings.base_url or fhir_prefix, "importBase": "/import",
                        "auth": settings.auth == "on", "clientId": settings.web_client_id,
                        "scopes": settings.web_scopes})

    return pages


def content_security_policy(settings: Settings) -> str:
    """Scripts, styles and data from this server only; the token endpoint is the one other place the pages
    may call (the SMART launch exchanges its code there)."""
    connect = ["'self'"]
    for endpoint in (settings.auth_token_endpoint, settings.base_url):
        if endpoint:
            parts = urlsplit(endpoint)
            connect.append(f"{parts.scheme}://{parts.netloc}")
    return ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
            f"connect-src {' '.join(dict.fromkeys(connect))}; form-action 'self'; base-uri 'none'; "
            "frame-ancestors 'none'")
