"""How the server connects to Elasticsearch: API keys, basic auth, and TLS checked against a CA file,
seen from the emulator's side of the wire (tests/search/elasticsearch_emulator.py)."""

from __future__ import annotations

import base64
import datetime
import ipaddress

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fhir_server.app import create_app
from fhir_server.settings import Settings
from tests.conftest import close, elasticsearch_settings, fresh_database
from tests.fhir_client import assert_outcome, put


def _app(request, tmp_path, url: str, **settings):
    database_url = next(fresh_database(request, "sqlite", tmp_path))
    app = create_app(Settings(database_url=database_url, **{**elasticsearch_settings(url), **settings}))
    request.addfinalizer(lambda: close(app))
    return app.test_client()


def _searches(client) -> int:
    put(client, "Patient/p", {"resourceType": "Patient", "id": "p", "gender": "female"})
    return client.get("/fhir/Patient?gender=female").status_code


def test_an_api_key_is_sent_as_the_authorization_header(request, tmp_path, elasticsearch):
    client = _app(request, tmp_path, elasticsearch.url, elasticsearch_api_key="aWQ6c2VjcmV0")
    del elasticsearch.authorizations[:]
    assert _searches(client) == 200
    assert set(elasticsearch.authorizations) == {"ApiKey aWQ6c2VjcmV0"}


def test_basic_auth_is_sent_as_the_authorization_header(request, tmp_path, elasticsearch):
    client = _app(request, tmp_path, elasticsearch.url, elasticsearch_username="fhir", elasticsearch_password="pw:1")
    del elasticsearch.authorizations[:]
    assert _searches(client) == 200
    assert set(elasticsearch.authorizations) == {"Basic " + base64.b64encode(b"fhir:pw:1").decode()}


def _certificate(subject: str, key, issuer_name, issuer_key, *, authority: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=authority, path_length=None), critical=True))
    if not authority:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_cluster(tmp_path, elasticsearch):
    """The emulator over TLS with a certificate from a private CA: (URL, the CA's PEM file)."""
    authority_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    authority_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hospital test CA")])
    authority = _certificate("Hospital test CA", authority_key, authority_name, authority_key, authority=True)
    server = _certificate("127.0.0.1", server_key, authority_name, authority_key, authority=False)
    (tmp_path / "ca.pem").write_bytes(authority.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "server.key").write_bytes(server_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    url, _ = elasticsearch.serve_tls(str(tmp_path / "server.pem"), str(tmp_path / "server.key"))
    return url, str(tmp_path / "ca.pem")


def test_tls_is_trusted_through_the_ca_file(request, tmp_path, tls_cluster):
    url, authority = tls_cluster
    assert _searches(_app(request, tmp_path, url, elasticsearch_ca_file=authority)) == 200


def test_tls_from_an_unknown_ca_is_refused_and_searches_answer_503(request, tmp_path, tls_cluster):
    url, _ = tls_cluster
    client = _app(request, tmp_path, url)
    put(client, "Patient/p", {"resourceType": "Patient", "id": "p"})  # stored; the index waits in the outbox
    assert client.get("/fhir/Patient/p").status_code == 200
    assert_outcome(client.get("/fhir/Patient"), 503, "search engine is unavailable")
