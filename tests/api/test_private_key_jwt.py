"""RFC 7523 private_key_jwt: services sign in with keys instead of shared secrets."""

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from accounts.flows.clients import service_client_create
from accounts.models import ConsumedToken
from tests.api.test_token_endpoint import basic, form

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token"
TOKEN_URL = "http://127.0.0.1:8000/api/auth/token"  # the test settings' issuer + path
ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def assertion(client_id: str, *, key=KEY, algorithm="RS256", **overrides) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": TOKEN_URL, "iat": now}
    claims.update({"exp": now + 60, "jti": uuid.uuid4().hex, **overrides})
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm)


def grant(api, signed: str, **extra):
    data = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION}
    return form(api, TOKEN, {**data, "client_assertion": signed, **extra})


@pytest.fixture
def keyed_client(db):
    client, secret = service_client_create(name="batch", scopes=["r"], public_key_pem=pem(KEY))
    return client, secret


def test_a_client_signs_in_with_a_signed_assertion(api, keyed_client):
    client, secret = keyed_client
    response = grant(api, assertion(client.client_id))
    assert response.status_code == 200, response.content
    assert response.json()["scope"] == "r"
    # Its secret keeps working.
    by_secret = form(
        api,
        TOKEN,
        {"grant_type": "client_credentials"},
        HTTP_AUTHORIZATION=basic(client.client_id, secret),
    )
    assert by_secret.status_code == 200


def test_an_assertion_works_once(api, keyed_client):
    client, _ = keyed_client
    signed = assertion(client.client_id)
    assert grant(api, signed).status_code == 200
    replay = grant(api, signed)
    assert replay.status_code == 401 and replay.json()["error"] == "invalid_client"
    assert ConsumedToken.objects.filter(kind="client_assertion").count() == 1


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "https://elsewhere.example/token"},
        {"exp": int(time.time()) + 3600},  # longer than five minutes
        {"exp": int(time.time()) - 120},
        {"jti": None},
        {"sub": "svc_someone_else"},
    ],
)
def test_assertions_that_break_rfc_7523_are_refused(api, keyed_client, overrides):
    client, _ = keyed_client
    response = grant(api, assertion(client.client_id, **overrides))
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


def test_an_assertion_signed_by_another_key_is_refused(api, keyed_client):
    client, _ = keyed_client
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert grant(api, assertion(client.client_id, key=other)).status_code == 401
    # An HMAC "signature" is never accepted, whatever its secret (no alg confusion).
    assert (
        grant(api, assertion(client.client_id, key="s" * 32, algorithm="HS256")).status_code == 401
    )


def test_a_jwks_url_must_be_https_unless_on_loopback(db):
    with pytest.raises(ValueError):
        service_client_create(name="far", scopes=[], jwks_url="http://keys.example/jwks.json")
    service_client_create(name="near", scopes=[], jwks_url="http://127.0.0.1:9/jwks.json")
    service_client_create(name="tls", scopes=[], jwks_url="https://keys.example/jwks.json")


def test_a_client_publishing_a_jwks_signs_in_with_its_key(api, db):
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "k1", "use": "sig", "alg": "ES256"}]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/jwks.json"
        client, _ = service_client_create(name="jwks", scopes=["r"], jwks_url=url)
        signed = jwt.encode(
            {
                "iss": client.client_id,
                "sub": client.client_id,
                "aud": TOKEN_URL,
                "exp": int(time.time()) + 60,
                "jti": uuid.uuid4().hex,
            },
            key,
            "ES256",
            headers={"kid": "k1"},
        )
        response = grant(api, signed)
        assert response.status_code == 200, response.content
    finally:
        server.shutdown()
        server.server_close()


def test_discovery_lists_private_key_jwt(api, db):
    metadata = api.get("/.well-known/oauth-authorization-server").json()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
