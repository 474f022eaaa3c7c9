"""Bearer-token verification (RFC 7519, RFC 7517, RFC 6750) with keys made here, as an issuer would publish them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from fhir_server.errors import Unauthorized
from fhir_server.security import dev_key, tokens
from fhir_server.security.tokens import TokenVerifier
from fhir_server.settings import Settings

ISSUER = "https://sso.hospital.test/realms/h"
AUDIENCE = "http://fhir.test/fhir"


def _rsa():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(*keys_by_kid) -> dict:
    keys = []
    for kid, key in keys_by_kid:
        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()) if isinstance(key, rsa.RSAPrivateKey)
                         else jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "use": "sig"})
    return {"keys": keys}


def _token(key, kid: str | None = "k1", algorithm: str = "RS256", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "dr-kim", "aud": AUDIENCE, "exp": now + 300, "nbf": now - 5,
              "scope": "user/Observation.rs", "patient": "p1", "roles": ["user"], "client_id": "emr-app"}
    claims.update(overrides)
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode(claims, key, algorithm=algorithm, headers={"kid": kid} if kid else None)


@pytest.fixture
def rsa_key():
    return _rsa()


@pytest.fixture
def verifier(tmp_path, rsa_key):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks(("k1", rsa_key))))
    return TokenVerifier(Settings(auth="on", base_url=AUDIENCE, auth_issuers=ISSUER, auth_jwks=str(path), auth_leeway_seconds=30))


def _refused(verifier, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(f"Bearer {token}")
    return caught.value.message


def test_a_valid_token_gives_its_subject_client_scopes_patient_and_roles(verifier, rsa_key):
    principal = verifier.verify(f"Bearer {_token(rsa_key)}")
    assert (principal.subject, principal.client_id, principal.scopes, principal.patient, principal.roles) == (
        "dr-kim", "emr-app", ("user/Observation.rs",), "p1", frozenset({"user"}))


def test_an_es256_token_verifies_too(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks(("e1", key))))
    verifier = TokenVerifier(Settings(auth="on", base_url=AUDIENCE, auth_issuers=ISSUER, auth_jwks=str(path)))
    assert verifier.verify(f"Bearer {_token(key, 'e1', 'ES256')}").subject == "dr-kim"


def test_a_missing_header_gets_the_bare_challenge(verifier):
    with pytest.raises(Unauthorized) as caught:
        verifier.verify(None)
    assert caught.value.challenge == "Bearer"


def test_expired_beyond_the_leeway_is_refused_but_within_it_accepted(verifier, rsa_key):
    now = int(time.time())
    assert "expired" in _refused(verifier, _token(rsa_key, exp=now - 60, nbf=now - 600))
    assert verifier.verify(f"Bearer {_token(rsa_key, exp=now - 10, nbf=now - 600)}")


def test_not_yet_valid_is_refused(verifier, rsa_key):
    assert "nbf" in _refused(verifier, _token(rsa_key, nbf=int(time.time()) + 600))


def test_another_audience_or_issuer_is_refused(verifier, rsa_key):
    assert "aud" in _refused(verifier, _token(rsa_key, aud="https://other.test/fhir"))
    assert "issuer" in _refused(verifier, _token(rsa_key, iss="https://evil.test"))


def test_a_token_without_expiry_is_refused(verifier, rsa_key):
    assert "exp" in _refused(verifier, _token(rsa_key, exp=None))


def test_a_foreign_key_an_unsigned_token_and_an_hmac_with_the_public_key_are_refused(verifier, rsa_key):
    assert "signature" in _refused(verifier, _token(_rsa()))
    unsigned = jwt.encode(jwt.decode(_token(rsa_key), options={"verify_signature": False}), None, algorithm="none",
                          headers={"kid": "k1"})
    assert _refused(verifier, unsigned)
    public_pem = rsa_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    header, payload, _ = _token(rsa_key).split(".")
    forged_signature = base64.urlsafe_b64encode(
        hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()).rstrip(b"=").decode()
    forged_header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode()
                                             ).rstrip(b"=").decode()
    assert _refused(verifier, f"{forged_header}.{payload}.{forged_signature}")


def test_an_unknown_key_id_is_refused(verifier, rsa_key):
    assert "key" in _refused(verifier, _token(rsa_key, kid="k9"))


def test_a_rotated_jwks_file_is_read_again(tmp_path, rsa_key, verifier):
    verifier.verify(f"Bearer {_token(rsa_key)}")
    new_key = _rsa()
    path = tmp_path / "jwks.json"
    time.sleep(0.01)  # a later modification time
    path.write_text(json.dumps(_jwks(("k2", new_key))))
    assert verifier.verify(f"Bearer {_token(new_key, 'k2')}").subject == "dr-kim"
    assert _refused(verifier, _token(rsa_key))  # the retired key no longer verifies


class _Jwks(BaseHTTPRequestHandler):
    document: dict = {}
    fetches = 0

    def do_GET(self):
        type(self).fetches += 1
        body = json.dumps(self.document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server():
    handler = type("Handler", (_Jwks,), {"document": {}, "fetches": 0})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{server.server_address[1]}/jwks"
    server.shutdown()
    server.server_close()


def test_a_jwks_url_is_fetched_once_cached_and_fetched_again_for_a_new_key(jwks_server, rsa_key, monkeypatch):
    monkeypatch.setattr(tokens, "JWKS_REFETCH_COOLDOWN_SECONDS", 0)  # the key rotates right after the first fetch
    handler, url = jwks_server
    handler.document = _jwks(("k1", rsa_key))
    verifier = TokenVerifier(Settings(auth="on", base_url=AUDIENCE, auth_issuers=ISSUER, auth_jwks=url))
    for _ in range(3):
        verifier.verify(f"Bearer {_token(rsa_key)}")
    assert handler.fetches == 1
    rotated = _rsa()
    handler.document = _jwks(("k1", rsa_key), ("k2", rotated))
    assert verifier.verify(f"Bearer {_token(rotated, 'k2')}").subject == "dr-kim"
    assert handler.fetches == 2


def test_an_unreachable_jwks_url_is_a_503_not_a_401(rsa_key):
    verifier = TokenVerifier(Settings(auth="on", base_url=AUDIENCE, auth_issuers=ISSUER, auth_jwks="http://127.0.0.1:9/jwks"))
    with pytest.raises(Exception) as caught:
        verifier.verify(f"Bearer {_token(rsa_key)}")
    assert caught.value.status == 503


def test_development_tokens_verify_only_where_the_development_key_is_configured(tmp_path):
    key_path = tmp_path / "dev.pem"
    token = dev_key.mint(key_path, audience=AUDIENCE, scopes="user/*.rs", patient="p1", roles=("admin",))
    assert oct(key_path.stat().st_mode & 0o777) == "0o600"
    principal = TokenVerifier(Settings(auth="on", base_url=AUDIENCE, auth_dev_key=str(key_path))).verify(
        f"Bearer {token}")
    assert principal.roles == frozenset({"admin"}) and principal.patient == "p1"
    elsewhere = TokenVerifier(Settings(auth="on", base_url=AUDIENCE, auth_issuers=ISSUER, auth_jwks=str(tmp_path / "none.json")))
    with pytest.raises(Unauthorized):
        elsewhere.verify(f"Bearer {token}")


def test_authentication_on_without_any_trusted_issuer_is_a_configuration_error():
    with pytest.raises(ValueError, match="no issuer"):
        TokenVerifier(Settings(auth="on"))


def test_a_remembered_token_is_refused_once_it_expires(tmp_path, rsa_key):
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(_jwks(("k1", rsa_key))))
    strict = TokenVerifier(Settings(auth="on", base_url=AUDIENCE, auth_issuers=ISSUER, auth_jwks=str(path), auth_leeway_seconds=0))
    expires = int(time.time()) + 3
    token = _token(rsa_key, exp=expires, nbf=int(time.time()) - 5)
    assert strict.verify(f"Bearer {token}").subject == "dr-kim"
    time.sleep(max(0.0, expires + 1.1 - time.time()))
    assert "expired" in _refused(strict, token)
