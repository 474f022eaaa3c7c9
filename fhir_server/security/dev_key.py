"""A local development signing key, so `make run` users and tests can work with authentication on.

`fhir-server token` creates it on first use (an ES256 P-256 key in a PEM file readable by its owner
only) and mints tokens with it; a server whose ``auth_dev_key`` points at the file trusts them.
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

ISSUER = "fhir-server-dev"


def private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key in ``path``, created there first if the file does not exist."""
    if not path.exists():
        key = ec.generate_private_key(ec.SECP256R1())
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def public_key(path: Path) -> ec.EllipticCurvePublicKey:
    return private_key(path).public_key()


def mint(path: Path, *, audience: str, scopes: str, subject: str = "developer", patient: str | None = None,
         roles: tuple[str, ...] = (), lifetime_seconds: int = 3600, client_id: str = "fhir-server-cli") -> str:
    """A signed JWT with these SMART scopes, patient context and roles."""
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": subject, "aud": audience, "iat": now, "nbf": now, "exp": now + lifetime_seconds,
              "jti": str(uuid.uuid4()), "scope": scopes, "client_id": client_id}
    if patient:
        claims["patient"] = patient
    if roles:
        claims["roles"] = list(roles)
    return jwt.encode(claims, private_key(path), algorithm="ES256")
