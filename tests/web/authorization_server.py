"""A small OAuth 2.0 authorization server for the web pages' tests: SMART's standalone launch with PKCE for a
public client (https://hl7.org/fhir/smart-app-launch/app-launch.html), signing RS256 JWTs whose public key it
writes as a JWKS file for the FHIR server to trust. It asks its user to approve, as a real one would."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, redirect, request
from werkzeug.serving import make_server

KEY_ID = "test-authorization-server"


class AuthorizationServer:
    def __init__(self, jwks_path: Path, client_id: str, user: str, roles: tuple[str, ...]):
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self._key.public_key()))
        jwks_path.write_text(json.dumps({"keys": [{**public, "kid": KEY_ID, "use": "sig", "alg": "RS256"}]}))
        self.client_id, self.user, self.roles = client_id, user, roles
        self._codes: dict[str, dict] = {}
        self._server = make_server("127.0.0.1", 0, self._app(), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *_):
        self._server.shutdown()

    def _app(self) -> Flask:
        app = Flask(__name__)

        @app.get("/authorize")
        def authorize():
            asked = request.args
            if asked.get("client_id") != self.client_id or asked.get("response_type") != "code" \
                    or asked.get("code_challenge_method") != "S256" or not asked.get("code_challenge"):
                return Response("bad authorization request", 400)
            fields = "".join(f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
                             for name, value in asked.items())
            return (f"<!doctype html><title>Sign in</title><form method=post action=/approve>{fields}"
                    f"<p>Let {html.escape(self.client_id)} act for {html.escape(self.user)}?</p>"
                    f"<button id=approve>Approve</button></form>")

        @app.post("/approve")
        def approve():
            asked = request.form
            code = secrets.token_urlsafe(16)
            self._codes[code] = dict(asked)
            return redirect(f"{asked['redirect_uri']}?{urlencode({'code': code, 'state': asked['state']})}")

        @app.route("/token", methods=["POST", "OPTIONS"])
        def token():
            cors = {"Access-Control-Allow-Origin": request.headers.get("Origin", "*"),
                    "Access-Control-Allow-Headers": "Content-Type"}
            if request.method == "OPTIONS":
                return Response(status=204, headers=cors)
            form = request.form
            granted = self._codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if granted is None or granted["redirect_uri"] != form.get("redirect_uri") \
                    or granted["code_challenge"] != challenge or form.get("client_id") != self.client_id:
                return Response(json.dumps({"error": "invalid_grant"}), 400, cors, content_type="application/json")
            now = int(time.time())
            claims = {"iss": self.url, "sub": self.user, "aud": granted["aud"], "iat": now, "exp": now + 600,
                      "scope": granted["scope"], "client_id": self.client_id, "roles": list(self.roles)}
            access_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": KEY_ID})
            return Response(json.dumps({"access_token": access_token, "token_type": "Bearer", "expires_in": 600,
                                        "scope": granted["scope"]}), 200, cors, content_type="application/json")

        return app
