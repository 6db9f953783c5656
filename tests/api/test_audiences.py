"""Resource servers (RFC 8707): every token names its audience; clients ask only for theirs."""

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from accounts.flows.audiences import resource_server_create
from accounts.flows.clients import service_client_create
from accounts.models import AuthSession, ResourceServer, ServiceClient, SigningKey, User
from tests.api.test_token_endpoint import basic, form
from tests.conftest import PASSWORD
from tests.helpers import claims_of, header_of

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token"


@pytest.fixture
def orders(db):
    return resource_server_create(
        identifier="orders", scopes=["orders:read", "orders:write"], claims=["userId", "role"]
    )


def password_grant(api, user, **extra):
    data = {"grant_type": "password", "username": user.email, "password": PASSWORD, **extra}
    return form(api, TOKEN, data)


def test_create_resource_server_command_prints_its_identifier():
    out = StringIO()
    call_command(
        "create_resource_server",
        "https://orders.example",
        "--scope",
        "orders:read",
        "--claims",
        "userId,role",
        "--lifetime",
        "120",
        stdout=out,
    )
    assert json.loads(out.getvalue()) == {"identifier": "https://orders.example"}
    server = ResourceServer.objects.get()
    assert server.scopes == ["orders:read"] and server.claims == ["userId", "role"]
    assert server.access_token_lifetime == 120


def test_a_token_without_resource_is_for_the_default_audience(api, user):
    body = password_grant(api, user).json()
    claims = claims_of(body["access_token"])
    assert claims["aud"] == "warden" and "scope" not in claims and "userId" not in claims


def test_a_token_for_a_resource_carries_its_audience_scopes_and_claim_profile(api, user, orders):
    user.groups.add(Group.objects.get(name="admin"))
    response = password_grant(api, user, resource="orders", scope="orders:read")
    assert response.status_code == 200, response.content
    claims = claims_of(response.json()["access_token"])
    assert claims["aud"] == "orders" and claims["scope"] == "orders:read"
    assert claims["userId"] == str(user.public_id) and claims["role"] == "admin"
    assert AuthSession.objects.get().audience == "orders"


def test_unknown_resource_is_invalid_target_and_foreign_scope_invalid_scope(api, user, orders):
    unknown = password_grant(api, user, resource="payroll")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_target"
    foreign = password_grant(api, user, resource="orders", scope="payroll:read")
    assert foreign.status_code == 400 and foreign.json()["error"] == "invalid_scope"
    assert not AuthSession.objects.exists()


def test_a_client_asks_only_for_the_audiences_it_was_registered_for(api, orders):
    resource_server_create(identifier="inventory", scopes=["inventory:read"])
    client, secret = service_client_create(
        name="gateway", scopes=["orders:read", "inventory:read"], audiences=["orders"]
    )
    auth = {"HTTP_AUTHORIZATION": basic(client.client_id, secret)}
    ok = form(api, TOKEN, {"grant_type": "client_credentials", "resource": "orders"}, **auth)
    assert ok.status_code == 200, ok.content
    claims = claims_of(ok.json()["access_token"])
    assert claims["aud"] == "orders" and claims["scope"] == "orders:read"  # within the server's
    refused = form(
        api, TOKEN, {"grant_type": "client_credentials", "resource": "inventory"}, **auth
    )
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_target"
    default = form(api, TOKEN, {"grant_type": "client_credentials"}, **auth)
    assert claims_of(default.json()["access_token"])["aud"] == "warden"


def test_a_token_lives_the_shorter_of_its_audience_and_client_lifetimes(api):
    resource_server_create(identifier="reports", scopes=["r"], lifetime=300)
    client, secret = service_client_create(
        name="batch", scopes=["r"], audiences=["reports"], lifetime=60
    )
    auth = {"HTTP_AUTHORIZATION": basic(client.client_id, secret)}
    body = form(api, TOKEN, {"grant_type": "client_credentials", "resource": "reports"}, **auth)
    claims = claims_of(body.json()["access_token"])
    assert body.json()["expires_in"] == 60 and claims["exp"] - claims["iat"] == 60


def test_a_refresh_keeps_its_sessions_audience_and_may_not_widen_it(api, user, orders):
    resource_server_create(identifier="inventory", scopes=["inventory:read"])
    pair = password_grant(api, user, resource="orders").json()
    assert claims_of(pair["access_token"])["scope"] == "orders:read orders:write"
    wider = form(
        api,
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": pair["refresh_token"],
            "resource": "inventory",
        },
    )
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_target"
    narrower = form(
        api,
        TOKEN,
        {
            "grant_type": "refresh_token",
            "refresh_token": pair["refresh_token"],
            "scope": "orders:read",
        },
    )
    assert narrower.status_code == 200, narrower.content  # the refused one did not spend it
    claims = claims_of(narrower.json()["access_token"])
    assert claims["aud"] == "orders" and claims["scope"] == "orders:read"
    kept = form(
        api,
        TOKEN,
        {"grant_type": "refresh_token", "refresh_token": narrower.json()["refresh_token"]},
    )
    assert claims_of(kept.json()["access_token"])["scope"] == "orders:read orders:write"


def test_a_refresh_refused_because_its_resource_server_is_gone_leaves_the_token_usable(
    api, user, orders
):
    pair = password_grant(api, user, resource="orders").json()
    ResourceServer.objects.filter(identifier="orders").delete()
    again = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    gone = form(api, TOKEN, again)
    assert gone.status_code == 400 and gone.json()["error"] == "invalid_grant"
    resource_server_create(identifier="orders", scopes=["orders:read", "orders:write"])
    back = form(api, TOKEN, again)
    assert back.status_code == 200, back.content  # the refusal did not spend the token
    assert claims_of(back.json()["access_token"])["aud"] == "orders"
    assert AuthSession.objects.get().generation == 1


def test_an_audience_may_pin_its_signing_algorithm(api, user):
    resource_server_create(identifier="legacy", scopes=[], algorithm="ES256")
    assert SigningKey.objects.filter(algorithm="ES256").exists()
    token = password_grant(api, user, resource="legacy").json()["access_token"]
    assert header_of(token)["alg"] == "ES256"
    assert header_of(password_grant(api, user).json()["access_token"])["alg"] == "RS256"


def test_create_service_client_command_registers_audiences_and_exchange_targets(orders):
    resource_server_create(identifier="inventory", scopes=["inventory:read"])
    out = StringIO()
    call_command(
        "create_service_client",
        "orders-svc",
        "--scope",
        "inventory:read",
        "--audience",
        "orders",
        "--exchange",
        "inventory",
        stdout=out,
    )
    assert set(json.loads(out.getvalue())) == {"client_id", "client_secret"}
    registered = ServiceClient.objects.get(name="orders-svc")
    assert registered.allowed_audiences == ["orders"]
    assert registered.exchange_audiences == ["inventory"]


def test_admin_lists_resource_servers_and_client_lifetimes(client, make_user, orders):
    make_user("root@example.com", is_staff=True, is_superuser=True)
    client.force_login(User.objects.get(email="root@example.com"))
    page = client.get("/admin/accounts/resourceserver/")
    assert page.status_code == 200 and b"orders:read orders:write" in page.content
    added = client.post(
        "/admin/accounts/resourceserver/add/",
        {
            "identifier": "billing",
            "scope_words": "b:read",
            "claim_words": "userId",
            "access_token_lifetime": "90",
            "algorithm": "",
        },
    )
    assert added.status_code == 302, added.content
    assert ResourceServer.objects.get(identifier="billing").access_token_lifetime == 90
    clients = client.get("/admin/accounts/serviceclient/add/")
    assert (
        b"access_token_lifetime" in clients.content and b"Token exchange targets" in clients.content
    )
