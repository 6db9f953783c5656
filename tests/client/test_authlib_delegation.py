"""Authlib against a live Warden: private_key_jwt, token exchange, and the SDK's assertions."""

import time

import pytest
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import override_settings

from accounts.flows.audiences import resource_server_create
from accounts.flows.clients import service_client_create
from tests.conftest import PASSWORD
from tests.helpers import claims_of
from warden_client import ServiceTokenClient

pytestmark = pytest.mark.django_db(transaction=True)
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


class ShortLivedPrivateKeyJWT(PrivateKeyJWT):
    """Authlib's assertions live an hour by default; Warden takes at most five minutes."""

    def sign(self, auth, token_endpoint):
        self.claims = {"exp": int(time.time()) + 120}  # a fresh dict: a fresh jti each time
        return super().sign(auth, token_endpoint)


def keypair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode()


def test_authlib_exchanges_a_users_token_signing_in_with_private_key_jwt(warden, make_user):
    with override_settings(WARDEN_ISSUER=warden):
        resource_server_create(identifier="orders", scopes=["orders:read"])
        resource_server_create(identifier="inventory", scopes=["inventory:read"])
        private, public = keypair()
        client, _ = service_client_create(
            name="orders-svc",
            scopes=["inventory:read"],
            audiences=["orders"],
            exchange=["inventory"],
            public_key_pem=public,
        )
        make_user("ann@example.com")
        user = OAuth2Session(token_endpoint_auth_method="none")
        token_url = f"{warden}/api/auth/token"
        users_token = user.fetch_token(
            token_url,
            username="ann@example.com",
            password=PASSWORD,
            grant_type="password",
            resource="orders",
        )["access_token"]

        service = OAuth2Session(
            client.client_id, private, token_endpoint_auth_method=ShortLivedPrivateKeyJWT(token_url)
        )
        exchanged = service.fetch_token(
            token_url,
            grant_type=EXCHANGE,
            subject_token=users_token,
            subject_token_type=ACCESS,
            resource="inventory",
        )
        assert exchanged["issued_token_type"] == ACCESS
        claims = claims_of(exchanged["access_token"])
        assert claims["aud"] == "inventory" and claims["act"] == {"sub": client.client_id}


def test_the_sdk_service_client_signs_its_assertions(warden, db):
    with override_settings(WARDEN_ISSUER=warden):
        resource_server_create(identifier="reports", scopes=["reports:read"])
        private, public = keypair()
        client, _ = service_client_create(
            name="batch", scopes=["reports:read"], audiences=["reports"], public_key_pem=public
        )
        sdk = ServiceTokenClient(
            base_url=warden, client_id=client.client_id, private_key=private, resource="reports"
        )
        first = sdk.token()
        assert claims_of(first)["aud"] == "reports" and claims_of(first)["scope"] == "reports:read"
        sdk.invalidate()
        time.sleep(0.01)
        assert sdk.token() != first  # a fresh assertion (jti) each time: none refused as replay
