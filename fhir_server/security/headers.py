"""Response headers that keep a browser from misusing what the server sends
(https://owasp.org/www-project-secure-headers/): no content sniffing, no framing, no script or style from a
response, no Referer carrying a search's patient data to another site."""

from __future__ import annotations

from flask import Flask, Response

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def protect(app: Flask) -> None:
    @app.after_request
    def add(response: Response) -> Response:
        for name, value in _HEADERS.items():
            response.headers.setdefault(name, value)  # a page that needs its own policy sets it
        return response
