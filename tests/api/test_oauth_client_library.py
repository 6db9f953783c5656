"""A standard OAuth 2.0 client library (Authlib) discovers Warden and uses its endpoints."""

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.test import override_settings

from accounts.flows.clients import service_client_create
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def discover(live_server) -> dict:
    return requests.get(
        f"{live_server.url}/.well-known/oauth-authorization-server", timeout=5
    ).json()


def test_client_credentials_introspect_and_revoke_through_authlib(live_server):
    with override_settings(WARDEN_ISSUER=live_server.url):
        meta = discover(live_server)
        assert meta["issuer"] == live_server.url
        client, secret = service_client_create(name="reports", scopes=["reports:read"])
        session = OAuth2Session(
            client.client_id,
            secret,
            token_endpoint_auth_method="client_secret_basic",
            scope="reports:read",
        )
        token = session.fetch_token(meta["token_endpoint"], grant_type="client_credentials")
        assert token["token_type"] == "Bearer" and token["scope"] == "reports:read"

        introspected = session.introspect_token(
            meta["introspection_endpoint"], token=token["access_token"]
        )
        assert introspected.json()["active"] is True
        assert introspected.json()["client_id"] == client.client_id

        jwks = requests.get(meta["jwks_uri"], timeout=5).json()
        assert jwks["keys"] and all("d" not in key for key in jwks["keys"])


def test_password_grant_refresh_and_revoke_through_authlib(live_server, make_user):
    with override_settings(WARDEN_ISSUER=live_server.url):
        meta = discover(live_server)
        make_user("ann@example.com")
        session = OAuth2Session(token_endpoint_auth_method="none")
        token = session.fetch_token(
            meta["token_endpoint"],
            username="ann@example.com",
            password=PASSWORD,
            grant_type="password",
        )
        refreshed = session.refresh_token(
            meta["token_endpoint"], refresh_token=token["refresh_token"]
        )
        assert refreshed["refresh_token"] != token["refresh_token"]

        me = session.get(
            f"{live_server.url}/api/auth/me", timeout=5
        )  # Authlib adds the bearer token
        assert me.status_code == 200 and me.json()["email"] == "ann@example.com"

        assert (
            session.revoke_token(
                meta["revocation_endpoint"], token=refreshed["refresh_token"]
            ).status_code
            == 200
        )
        assert session.get(f"{live_server.url}/api/auth/me", timeout=5).status_code == 401
