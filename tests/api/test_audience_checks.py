"""The audience is checked wherever tokens are: verify, introspection, Warden's own API."""

import pytest

from accounts.flows.audiences import resource_server_create
from accounts.flows.clients import service_client_create
from tests.api.test_token_endpoint import basic, form
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def servers(db):
    resource_server_create(identifier="orders", scopes=["orders:read"])
    resource_server_create(identifier="inventory", scopes=["inventory:read"])


def token_for(api, user, resource=None) -> str:
    data = {"grant_type": "password", "username": user.email, "password": PASSWORD}
    if resource:
        data["resource"] = resource
    response = form(api, "/api/auth/token", data)
    assert response.status_code == 200, response.content
    return response.json()["access_token"]


def verify(api, token, **extra):
    return api.get("/api/auth/verify", HTTP_AUTHORIZATION=f"Bearer {token}", **extra)


def test_verify_checks_the_audience_of_the_route(api, user, servers):
    orders = token_for(api, user, "orders")
    by_query = api.get("/api/auth/verify?audience=orders", HTTP_AUTHORIZATION=f"Bearer {orders}")
    assert by_query.status_code == 200 and by_query.json()["aud"] == "orders"
    assert verify(api, orders, HTTP_X_WARDEN_AUDIENCE="orders").status_code == 200
    other = verify(api, orders, HTTP_X_WARDEN_AUDIENCE="inventory")
    assert other.status_code == 401 and other.json() == {"active": False, "error": "wrong audience"}
    # No audience named: the default one, as before audiences existed.
    assert verify(api, orders).status_code == 401
    assert verify(api, token_for(api, user)).status_code == 200
    assert verify(api, token_for(api, user), HTTP_X_WARDEN_AUDIENCE="orders").status_code == 401


def test_introspection_answers_inactive_for_another_audience(api, user, servers):
    client, secret = service_client_create(name="inventory-svc", scopes=[])
    auth = {"HTTP_AUTHORIZATION": basic(client.client_id, secret)}
    orders = token_for(api, user, "orders")
    answer = form(api, "/api/auth/introspect", {"token": orders, "audience": "orders"}, **auth)
    assert answer.json()["active"] is True and answer.json()["aud"] == "orders"
    other = form(api, "/api/auth/introspect", {"token": orders, "audience": "inventory"}, **auth)
    assert other.json() == {"active": False}
    by_header = form(
        api, "/api/auth/introspect", {"token": orders}, HTTP_X_WARDEN_AUDIENCE="orders", **auth
    )
    assert by_header.json()["active"] is True
    assert form(api, "/api/auth/introspect", {"token": orders}, **auth).json()["active"] is False


def test_wardens_own_api_refuses_a_token_minted_for_a_service(api, user, servers):
    orders = token_for(api, user, "orders")
    assert api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {orders}").status_code == 401
    own = token_for(api, user)
    assert api.get("/api/auth/me", HTTP_AUTHORIZATION=f"Bearer {own}").status_code == 200
