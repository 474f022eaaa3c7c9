"""How clients learn to authenticate: `/.well-known/smart-configuration`
(https://hl7.org/fhir/smart-app-launch/conformance.html) and the CapabilityStatement's `rest.security`.

This server is a resource server: tokens come from the hospital's authorization server, whose
endpoints are settings; with only the development key, `fhir-server token` is the token endpoint.
"""

from __future__ import annotations

from fhir_server.security import dev_key
from fhir_server.security.scopes import PERMISSIONS
from fhir_server.settings import Settings

OAUTH_URIS = "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"
SECURITY_SERVICE = "http://terminology.hl7.org/CodeSystem/restful-security-service"


def smart_configuration(settings: Settings) -> dict:
    issuers = settings.auth_issuers.split() + ([dev_key.ISSUER] if settings.auth_dev_key else [])
    configuration = {
        "issuer": issuers[0] if len(issuers) == 1 else None,
        "jwks_uri": settings.auth_jwks if settings.auth_jwks.startswith("https://") else None,
        "authorization_endpoint": settings.auth_authorization_endpoint or None,
        "token_endpoint": settings.auth_token_endpoint or None,
        "grant_types_supported": ["authorization_code", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["private_key_jwt", "client_secret_basic"],
        "scopes_supported": ["openid", "fhirUser", "launch/patient", "offline_access",
                             f"patient/*.{PERMISSIONS}", f"user/*.{PERMISSIONS}", "system/*.rs",
                             "patient/*.read", "user/*.read", "user/*.write", "system/*.read"],
        "response_types_supported": ["code"],
        "capabilities": ["launch-standalone", "client-public", "client-confidential-symmetric",
                         "client-confidential-asymmetric", "context-standalone-patient", "permission-patient",
                         "permission-user", "permission-v1", "permission-v2"],
        "code_challenge_methods_supported": ["S256"],
    }
    return {key: value for key, value in configuration.items() if value is not None}


def rest_security(settings: Settings) -> dict:
    security: dict = {"cors": bool(settings.cors_origins.split())}
    if settings.auth != "on":
        security["description"] = "Authentication is off: this server answers loopback clients only."
        return security
    security["service"] = [{"coding": [{"system": SECURITY_SERVICE, "code": "SMART-on-FHIR"}],
                            "text": "OAuth 2.0 bearer tokens (JWT) with SMART on FHIR v1 and v2 scopes"}]
    uris = [{"url": name, "valueUri": value} for name, value in (
        ("token", settings.auth_token_endpoint), ("authorize", settings.auth_authorization_endpoint)) if value]
    if uris:
        security["extension"] = [{"url": OAUTH_URIS, "extension": uris}]
    security["description"] = ("Every request needs `Authorization: Bearer <JWT>`; SMART scopes and the `roles` "
                               "claim (user, integrator, researcher, admin) decide what it may do; see "
                               "/.well-known/smart-configuration.")
    return security
