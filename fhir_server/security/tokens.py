"""Bearer tokens: JWTs (RFC 7519) verified against the configured issuers' keys (RFC 7517 JWKS), as a
SMART on FHIR resource server does (https://hl7.org/fhir/smart-app-launch/).

Only RS256 and ES256 are accepted, so a token cannot pick ``none`` or an HMAC keyed with a public key.
Tokens are never logged: the messages below say what is wrong, never what the token held.
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import jwt

from fhir_server.errors import Unauthorized, Unavailable
from fhir_server.security import dev_key
from fhir_server.settings import Settings

ALGORITHMS = ["RS256", "ES256"]
JWKS_CACHE_SECONDS = 300
# A token naming an unknown key refetches the JWKS at most this often, so forged kids cannot hammer the issuer.
JWKS_REFETCH_COOLDOWN_SECONDS = 30
# Verifying a token added 0.3-0.9 ms to a read here; an app sends the same token with every request.
# A remembered token is verified again after a minute, or at once when the JWKS file changes, so a retired
# key stops opening the server within a minute (a JWKS URL is itself cached for five).
VERIFIED_CACHE_SIZE = 10_000
VERIFIED_SECONDS = 60


@dataclass(frozen=True)
class Principal:
    """The verified claims authorization and audit decide on."""

    subject: str
    issuer: str
    client_id: str | None
    scopes: tuple[str, ...]
    patient: str | None  # the SMART launch context that confines patient/ scopes
    roles: frozenset[str]
    fhir_user: str | None


class TokenVerifier:
    def __init__(self, settings: Settings):
        self._keys = _key_source(settings.auth_jwks) if settings.auth_jwks else None
        self._issuers = set(settings.auth_issuers.split()) if self._keys else set()
        self._dev_key = dev_key.public_key(Path(settings.auth_dev_key)) if settings.auth_dev_key else None
        if self._dev_key is not None:
            self._issuers.add(dev_key.ISSUER)
        if not self._issuers:
            raise ValueError("authentication is on but no issuer is trusted: set FHIR_SERVER_AUTH_ISSUERS and "
                             "FHIR_SERVER_AUTH_JWKS, or FHIR_SERVER_AUTH_DEV_KEY for development")
        # Never the request's own URL: its Host header is the client's to choose, so a token for another
        # server trusting the same issuer would pass.
        self._audience = audience(settings)
        self._leeway = settings.auth_leeway_seconds
        self._verified: OrderedDict[tuple, tuple[Principal, float, float]] = OrderedDict()
        self._verified_lock = threading.Lock()

    def verify(self, authorization: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer`` header; :class:`Unauthorized` for anything less."""
        if not authorization:
            raise Unauthorized("This server needs a bearer token (`Authorization: Bearer ...`).", error=None)
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized("The Authorization header must be `Bearer` and a token.", error="invalid_request")
        token = token.strip()
        remembered = self._remembered(token)
        if remembered is not None:
            return remembered
        try:
            header = jwt.get_unverified_header(token)
            issuer = jwt.decode(token, options={"verify_signature": False}).get("iss")
        except jwt.PyJWTError:
            raise Unauthorized("The bearer token is not a well-formed JWT.") from None
        if issuer not in self._issuers:
            raise Unauthorized("The token's issuer is not trusted by this server.")
        key = self._dev_key if issuer == dev_key.ISSUER else self._keys.key(header.get("kid"))
        try:
            claims = jwt.decode(token, key, algorithms=ALGORITHMS, audience=self._audience, issuer=issuer,
                                leeway=self._leeway, options={"require": ["exp", "iss", "aud", "sub"]})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("The token has expired.") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("The token is not valid yet (`nbf`).") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("The token is meant for another server (`aud`).") from None
        except jwt.MissingRequiredClaimError as error:
            raise Unauthorized(f"The token has no `{error.claim}` claim.") from None
        except jwt.PyJWTError:
            raise Unauthorized("The token's signature does not verify with the issuer's keys.") from None
        principal = _principal(claims)
        self._remember(token, principal, claims)
        return principal

    def _remembered(self, token: str) -> Principal | None:
        """A token verified before, while its time window still holds; else None, and it is checked in full."""
        with self._verified_lock:
            found = self._verified.get(self._cache_key(token))
        if found is None:
            return None
        principal, not_before, until = found
        return principal if not_before - self._leeway <= time.time() < until else None

    def _remember(self, token: str, principal: Principal, claims: dict) -> None:
        until = min(float(claims["exp"]) + self._leeway, time.time() + VERIFIED_SECONDS)
        with self._verified_lock:
            self._verified[self._cache_key(token)] = (principal, float(claims.get("nbf", 0)), until)
            while len(self._verified) > VERIFIED_CACHE_SIZE:
                self._verified.popitem(last=False)


    def _cache_key(self, token: str) -> tuple:
        return token, self._keys.generation() if self._keys is not None else None


def audience(settings: Settings) -> str:
    """The `aud` tokens must name: the setting, else this server's public base URL, else where it listens."""
    return settings.auth_audience or settings.base_url or f"http://{settings.host}:{settings.port}/fhir"


def _principal(claims: dict) -> Principal:
    scopes = claims.get("scope", claims.get("scp", ""))
    roles = claims.get("roles", ())
    return Principal(
        subject=str(claims["sub"]), issuer=str(claims["iss"]),
        client_id=claims.get("client_id") or claims.get("azp"),
        scopes=tuple(scopes.split() if isinstance(scopes, str) else map(str, scopes)),
        patient=str(claims["patient"]) if claims.get("patient") else None,
        roles=frozenset(roles.split() if isinstance(roles, str) else map(str, roles)),
        fhir_user=claims.get("fhirUser"))


def _key_source(location: str):
    return _RemoteKeys(location) if location.startswith(("https://", "http://")) else _FileKeys(Path(location))


class _RemoteKeys:
    """A JWKS URL: fetched, cached, and fetched again when a token names a key it does not hold (rotation)."""

    def __init__(self, url: str):
        self._client = jwt.PyJWKClient(url, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=10,
                                       cooldown_duration=JWKS_REFETCH_COOLDOWN_SECONDS)

    def generation(self) -> None:
        return None  # PyJWKClient refreshes on its own schedule; remembered tokens expire within a minute

    def key(self, kid: str | None):
        try:
            if kid is None:
                keys = self._client.get_signing_keys()
                if len(keys) != 1:
                    raise Unauthorized("The token names no key (`kid`) and the issuer has several.")
                return keys[0]
            return self._client.get_signing_key(kid)
        except jwt.PyJWKClientConnectionError:
            raise Unavailable("The token issuer's keys cannot be fetched right now; retry later.") from None
        except jwt.PyJWKClientError:
            raise Unauthorized("The token is signed with a key its issuer does not publish.") from None


class _FileKeys:
    """A JWKS file, read again whenever it changes on disk (an operator rotating keys)."""

    def __init__(self, path: Path):
        self._path, self._stamp, self._keys = path, None, {}
        self._lock = threading.Lock()

    def generation(self) -> int | None:
        try:
            return self._path.stat().st_mtime_ns
        except OSError:
            return None

    def key(self, kid: str | None):
        with self._lock:
            try:
                stamp = self._path.stat().st_mtime_ns
                if stamp != self._stamp:
                    key_set = jwt.PyJWKSet.from_dict(json.loads(self._path.read_text()))
                    self._keys, self._stamp = {key.key_id: key for key in key_set.keys}, stamp
            except (OSError, ValueError, jwt.PyJWKSetError):
                raise Unavailable("The token issuers' key file cannot be read; the server's administrator "
                                  "must fix FHIR_SERVER_AUTH_JWKS.") from None
        if kid is None and len(self._keys) == 1:
            return next(iter(self._keys.values()))
        if kid not in self._keys:
            raise Unauthorized("The token is signed with a key its issuer does not publish.")
        return self._keys[kid]
