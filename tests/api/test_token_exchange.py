"""RFC 8693 token exchange: services acting for a user downstream, admins acting as one."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from accounts import tokens
from accounts.flows.audiences import resource_server_create
from accounts.flows.clients import service_client_create
from accounts.models import AuditEvent, AuthSession
from tests.api.test_token_endpoint import basic, form
from tests.conftest import PASSWORD
from tests.helpers import claims_of

pytestmark = pytest.mark.django_db
TOKEN = "/api/auth/token"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


@pytest.fixture
def chain(db):
    """gateway -> orders -> inventory, each a resource server with its own client."""
    for name in ("gateway", "orders", "inventory"):
        resource_server_create(identifier=name, scopes=[f"{name}:read", f"{name}:write"])
    clients = {}
    for name, target in (("gateway", "orders"), ("orders", "inventory")):
        client, secret = service_client_create(
            name=f"{name}-svc",
            scopes=[f"{target}:read"],
            audiences=[name],
            exchange=[target],
        )
        clients[name] = (client, {"HTTP_AUTHORIZATION": basic(client.client_id, secret)})
    return clients


def user_token(api, user, resource: str) -> str:
    data = {"grant_type": "password", "username": user.email, "password": PASSWORD}
    return form(api, TOKEN, {**data, "resource": resource}).json()["access_token"]


def exchange(api, auth, subject: str, **extra):
    data = {"grant_type": EXCHANGE, "subject_token": subject, "subject_token_type": ACCESS}
    return form(api, TOKEN, {**data, **extra}, **auth)


def test_a_service_exchanges_a_users_token_for_a_downstream_one(api, user, chain):
    client, auth = chain["orders"]
    subject = user_token(api, user, "orders")
    response = exchange(api, auth, subject, resource="inventory")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["issued_token_type"] == ACCESS and body["token_type"] == "Bearer"
    claims, original = claims_of(body["access_token"]), claims_of(subject)
    assert claims["aud"] == "inventory" and claims["sub"] == original["sub"]
    assert claims["act"] == {"sub": client.client_id} and claims["sid"] == original["sid"]
    assert claims["scope"] == "inventory:read"  # narrowed to what orders holds there
    assert claims["exp"] <= original["exp"]
    verify = api.get(
        "/api/auth/verify?audience=inventory", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}"
    )
    assert verify.status_code == 200 and verify.json()["act"] == {"sub": client.client_id}


def test_the_act_claim_nests_along_a_chain(api, user, chain):
    gateway, gateway_auth = chain["gateway"]
    orders, orders_auth = chain["orders"]
    for_orders = exchange(api, gateway_auth, user_token(api, user, "gateway"), audience="orders")
    assert for_orders.status_code == 200, for_orders.content
    for_inventory = exchange(
        api, orders_auth, for_orders.json()["access_token"], resource="inventory"
    )
    assert for_inventory.status_code == 200, for_inventory.content
    assert claims_of(for_inventory.json()["access_token"])["act"] == {
        "sub": orders.client_id,
        "act": {"sub": gateway.client_id},
    }


def test_exchanged_tokens_die_with_the_users_session(api, user, chain):
    _, auth = chain["orders"]
    exchanged = exchange(api, auth, user_token(api, user, "orders"), resource="inventory")
    token = exchanged.json()["access_token"]
    AuthSession.objects.update(state=AuthSession.State.REVOKED)
    tokens.mark_session_dead(claims_of(token)["sid"])
    verify = api.get("/api/auth/verify?audience=inventory", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert verify.status_code == 401 and verify.json()["error"] == "session revoked"


def test_exchange_policy_errors_follow_rfc_8693(api, user, chain, service_client):
    _, auth = chain["orders"]
    subject = user_token(api, user, "orders")
    wrong_target = exchange(api, auth, subject, resource="gateway")
    assert wrong_target.status_code == 400 and wrong_target.json()["error"] == "invalid_target"
    no_target = exchange(api, auth, subject)
    assert no_target.json()["error"] == "invalid_request"
    bad_subject = exchange(api, auth, "not-a-token", resource="inventory")
    assert bad_subject.json()["error"] == "invalid_request"
    foreign_scope = exchange(api, auth, subject, resource="inventory", scope="inventory:write")
    assert foreign_scope.json()["error"] == "invalid_scope"
    # The gateway's client may not exchange a token addressed to orders.
    _, gateway_auth = chain["gateway"]
    not_its_own = exchange(api, gateway_auth, subject, resource="orders")
    assert not_its_own.json()["error"] == "unauthorized_client"
    plain, secret = service_client
    no_policy = exchange(
        api, {"HTTP_AUTHORIZATION": basic(plain.client_id, secret)}, subject, resource="inventory"
    )
    assert no_policy.json()["error"] == "unauthorized_client"
    anonymous = exchange(api, {}, subject, resource="inventory")
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"


def test_an_admin_acts_as_a_user_audited_and_time_bounded(api, user, chain, make_user, settings):
    settings.WARDEN_IMPERSONATION_LIFETIME = timedelta(seconds=120)
    root = make_user("root@example.com")
    root.groups.add(Group.objects.get(name="admin"))
    admin_token = form(
        api,
        TOKEN,
        {"grant_type": "password", "username": root.email, "password": PASSWORD},
    ).json()["access_token"]
    data = {
        "grant_type": EXCHANGE,
        "subject_token": str(user.public_id),
        "subject_token_type": "urn:warden:params:oauth:token-type:user-id",
        "actor_token": admin_token,
        "actor_token_type": ACCESS,
        "resource": "orders",
    }
    response = form(api, TOKEN, data)
    assert response.status_code == 200, response.content
    claims = claims_of(response.json()["access_token"])
    assert claims["sub"] == str(user.public_id) and claims["aud"] == "orders"
    assert claims["act"] == {"sub": str(root.public_id), "email": root.email}
    assert claims["exp"] - claims["iat"] == 120 and claims["sid"] == claims_of(admin_token)["sid"]
    assert not AuthSession.objects.filter(user=user).exists()  # the user's own: untouched
    event = AuditEvent.objects.get(type="impersonation")
    assert event.actor_user == root and event.target == user.email
    assert event.details["subject"] == str(user.public_id)
    # Not an admin: refused.
    plain = form(
        api, TOKEN, {"grant_type": "password", "username": user.email, "password": PASSWORD}
    ).json()["access_token"]
    refused = form(api, TOKEN, {**data, "actor_token": plain})
    assert refused.status_code == 400 and refused.json()["error"] == "unauthorized_client"


def test_discovery_lists_the_token_exchange_grant(api, db):
    metadata = api.get("/.well-known/oauth-authorization-server").json()
    assert EXCHANGE in metadata["grant_types_supported"]


def test_exchanged_tokens_die_when_a_client_that_acted_is_deactivated(
    api, user, chain, django_capture_on_commit_callbacks
):
    from accounts.flows.clients import service_client_set_active

    gateway, gateway_auth = chain["gateway"]
    _, orders_auth = chain["orders"]
    for_orders = exchange(api, gateway_auth, user_token(api, user, "gateway"), audience="orders")
    for_inventory = exchange(
        api, orders_auth, for_orders.json()["access_token"], resource="inventory"
    ).json()["access_token"]

    def verify(token, audience):
        return api.get(
            f"/api/auth/verify?audience={audience}", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    assert verify(for_inventory, "inventory").status_code == 200
    service_client_set_active(client=gateway, active=False)  # the first actor of the chain
    refused = verify(for_inventory, "inventory")
    assert refused.status_code == 401 and refused.json()["error"] == "client revoked"
    assert verify(for_orders.json()["access_token"], "orders").status_code == 401
    with django_capture_on_commit_callbacks(execute=True):
        service_client_set_active(client=gateway, active=True)
    assert verify(for_inventory, "inventory").status_code == 200


def test_an_exchange_is_audited_with_who_acted_for_whom_and_no_token(api, user, chain):
    client, auth = chain["orders"]
    subject = user_token(api, user, "orders")
    token = exchange(api, auth, subject, resource="inventory").json()["access_token"]
    event = AuditEvent.objects.get(type="token_exchanged")
    assert event.actor_client == client and event.target == str(user.public_id)
    assert event.details["audience"] == "inventory" and event.details["from_audience"] == "orders"
    assert event.details["jti"] == claims_of(token)["jti"] and event.details["actors"] == 1
    assert token not in str(event.details) and subject not in str(event.details)
